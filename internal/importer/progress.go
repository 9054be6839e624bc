package importer

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ProgressEvery is how often progress is printed as a line when the output is not a
// terminal.
const ProgressEvery = 2 * time.Second

// progressBarWidth is the width of the bar drawn on a terminal.
const progressBarWidth = 30

// Progress shows an import's progress: a bar redrawn in place on a terminal, plain
// lines every ProgressEvery otherwise (a log, a CI job).
type Progress struct {
	out   io.Writer
	tty   bool
	start time.Time
	last  time.Time
}

// NewProgress shows progress on out; a terminal gets a bar.
func NewProgress(out io.Writer) *Progress {
	tty := false
	if f, ok := out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	now := time.Now()
	return &Progress{out: out, tty: tty, start: now, last: now}
}

func (p *Progress) update(s Summary, total int) {
	if p == nil {
		return
	}
	now := time.Now()
	if !p.tty && now.Sub(p.last) < ProgressEvery {
		return
	}
	p.last = now
	rate := float64(s.Nodes+s.Edges) / now.Sub(p.start).Seconds()
	line := fmt.Sprintf("%d items (%d recorded, %d skipped, %d failed), %.0f nodes+edges/s", s.Read, s.Recorded, s.Skipped, s.Failed, rate)
	if !p.tty {
		fmt.Fprintf(p.out, "import: %s\n", line)
		return
	}
	bar := ""
	if total > 0 {
		done := min(progressBarWidth, s.Read*progressBarWidth/total)
		bar = fmt.Sprintf("[%s%s] %3d%% ", strings.Repeat("#", done), strings.Repeat(" ", progressBarWidth-done), min(100, s.Read*100/total))
	}
	fmt.Fprintf(p.out, "\r\033[K%s%s", bar, line)
}

// finish ends the bar's line on a terminal.
func (p *Progress) finish(Summary) {
	if p != nil && p.tty {
		fmt.Fprintln(p.out)
	}
}
