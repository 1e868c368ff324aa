//go:build !unix

package main

import "errors"

func execProgram(path string, argv, env []string) error {
	return errors.New("exclude: not supported on this OS yet")
}
