// Package testutil holds the helpers the module's tests share: waiting on
// observable state with a deadline ([WaitFor]), loopback echo, source and
// sink servers that close with the test, a log that forwards to the test
// while it runs ([NewLog]), a child process whose log is watched
// ([StartProc]), and goroutine and file-descriptor checks, with the
// goroutine-leak check that every package's TestMain runs
// ([VerifyTestMain]), and saving a screenshot ([WritePNG]).
//
// Only tests import it (internal/deptest enforces that): no package of the
// build may depend on it.
package testutil
