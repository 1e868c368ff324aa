package link

import (
	"fmt"
	"strings"

	"github.com/pion/logging"

	"github.com/pexia-network/pexia/internal/logger"
)

// pionLoggers adapts Logf to pion's logger factory. Pion's errors go to
// Logf; its warnings (routine on every close: reads on closed sockets,
// unspecified listen addresses, which we use on purpose) and its trace,
// debug and info chatter are dropped unless warnings is set.
type pionLoggers struct {
	logf     logger.Logf
	warnings bool
}

func (p pionLoggers) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p: p, scope: scope}
}

type pionLogger struct {
	p     pionLoggers
	scope string
}

func (l pionLogger) out(level, msg string) {
	if l.p.logf == nil {
		return
	}
	l.p.logf("link: pion %s %s: %s", l.scope, level, strings.TrimRight(msg, "\n"))
}

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Debugf(string, ...any) {}
func (pionLogger) Info(string)           {}
func (pionLogger) Infof(string, ...any)  {}

func (l pionLogger) Warn(msg string) {
	if l.p.warnings {
		l.out("warning", msg)
	}
}

func (l pionLogger) Warnf(format string, args ...any) {
	if l.p.warnings {
		l.out("warning", fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Error(msg string) { l.out("error", msg) }

func (l pionLogger) Errorf(format string, args ...any) {
	l.out("error", fmt.Sprintf(format, args...))
}
