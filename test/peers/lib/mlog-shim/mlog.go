// Package mlog is written for akv-csi's test peers: it provides only the calls
// that sigs.k8s.io/secrets-store-csi-driver v1.6.0 makes (main.go, server.go),
// on top of klog, so that the upstream driver can be built from the module proxy
// here, which refuses the real module. Text output is klog's own; JSON output
// is logr's funcr JSON, not zap's, so JSON line shapes differ from upstream.
package mlog

import (
	"context"
	"fmt"
	"os"

	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"
)

// LogFormat selects text (klog) or JSON lines.
type LogFormat string

const (
	FormatText LogFormat = "text"
	FormatJSON LogFormat = "json"
)

// Setup returns the function that flushes buffered log lines at exit.
func Setup() func() {
	return klog.Flush
}

// ValidateAndSetKlogLevelAndFormatGlobally checks the verbosity the driver parsed
// with klog's -v flag and switches to JSON lines when asked.
func ValidateAndSetKlogLevelAndFormatGlobally(_ context.Context, level klog.Level, format LogFormat) error {
	if level < 0 {
		return fmt.Errorf("invalid log level %d: must be >= 0", level)
	}
	switch format {
	case FormatText, "":
		return nil
	case FormatJSON:
		klog.SetLogger(funcr.NewJSON(func(obj string) { fmt.Fprintln(os.Stderr, obj) }, funcr.Options{Verbosity: int(level)}))
		return nil
	default:
		return fmt.Errorf("invalid log format %q", format)
	}
}

// Error logs err with a message and optional key/value pairs.
func Error(msg string, err error, keysAndValues ...interface{}) {
	klog.ErrorSDepth(1, err, msg, keysAndValues...)
}

// Fatal logs err and exits with status 1 after flushing.
func Fatal(err error, keysAndValues ...interface{}) {
	klog.ErrorSDepth(1, err, "fatal error", keysAndValues...)
	klog.FlushAndExit(klog.ExitFlushTimeout, 1)
}
