package telephonyhook

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"syscall"

	"github.com/telephony-hooks/okta-8x8/internal/logging"
)

// guardStdio makes the process's standard output and error unable to hold
// a request. Our own log lines go through a bounded writer already; this is
// for what others write there directly: the Functions Framework prints a
// blank line to each after every request on Cloud Run, which, with the log
// reader stalled, would hang that connection after its answer, and every
// request that reuses it. Our writer keeps the real stdout (a duplicate of
// fd 1) and fd 1 becomes /dev/null: nothing else writes anything worth
// keeping there. fd 2 becomes a pipe this process drains at once through a
// bounded writer to the real stderr (dropped and counted while it is
// blocked); crash reports go to the real stderr directly
// (debug.SetCrashOutput).
func guardStdio(boot *slog.Logger, out *outputSwitch) {
	realOut, err := toDevNull(1)
	if err != nil {
		boot.Warn("stdout left as it is: a blocked log reader can hold connections", "error", err.Error())
		return
	}
	out.set(realOut) // our log lines go to the real stdout from now on
	realErr, pipeErr, err := redirect(2)
	if err != nil {
		boot.Warn("stderr left as it is: a blocked log reader can hold connections", "error", err.Error())
		return
	}
	_ = debug.SetCrashOutput(realErr, debug.CrashOptions{})
	go drainLines(pipeErr, logging.NewWriter(realErr, logging.WriterOptions{Format: logging.Text}))
}

// toDevNull points fd at /dev/null and returns a file for the stream fd
// had.
func toDevNull(fd int) (*os.File, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	old, err := syscall.Dup(fd)
	if err != nil {
		return nil, err
	}
	if err := syscall.Dup3(int(null.Fd()), fd, 0); err != nil {
		syscall.Close(old)
		return nil, err
	}
	return os.NewFile(uintptr(old), "/dev/stdout"), nil
}

// redirect points fd at a new pipe; it returns a file for the stream fd
// had, and the pipe's read end.
func redirect(fd int) (real, pipe *os.File, err error) {
	old, err := syscall.Dup(fd)
	if err != nil {
		return nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		syscall.Close(old)
		return nil, nil, err
	}
	defer w.Close() // fd is the write end from now on
	if err := syscall.Dup3(int(w.Fd()), fd, 0); err != nil {
		syscall.Close(old)
		r.Close()
		return nil, nil, err
	}
	return os.NewFile(uintptr(old), "/dev/fd/"+string(rune('0'+fd))), r, nil
}

// drainLines copies r to w line by line, leaving out blank lines (the
// framework's), until r ends.
func drainLines(r io.Reader, w io.Writer) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			_, _ = w.Write(line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
