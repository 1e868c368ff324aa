//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// execProgram replaces this process with the program, keeping its id.
func execProgram(path string, argv, env []string) error {
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("exclude: run %s: %w", path, err)
	}
	return nil
}
