package main

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// stampedBodies hands out metric-logging request bodies made from templates encoded
// before the clock starts, so that the clients' JSON encoding does not compete with
// the server for the CPU. Request i gets template i%len(templates) with every
// occurrence of its placeholder timestamp replaced by one of the same width unique to
// the round i/len(templates): no point is ever sent twice. (A point sent again is
// recorded once, by provgraph and by MLflow, so cycling through fixed bodies would
// measure the skipping of repeats, not logging.)
type stampedBodies struct {
	templates [][]byte
	stamp     string           // the placeholder, in every template
	round     func(int) string // the timestamp of round r, as wide as stamp
}

// msStamps makes the rounds' timestamps integers of milliseconds from base.
func msStamps(base time.Time) (stamp string, round func(int) string) {
	ms := base.UnixMilli()
	return strconv.FormatInt(ms, 10), func(r int) string { return strconv.FormatInt(ms+int64(r), 10) }
}

// rfc3339Stamps makes the rounds' timestamps RFC 3339 strings of fixed width, a
// millisecond apart from base.
func rfc3339Stamps(base time.Time) (stamp string, round func(int) string) {
	const layout = "2006-01-02T15:04:05.000Z07:00"
	base = base.UTC().Truncate(time.Millisecond)
	return base.Format(layout), func(r int) string { return base.Add(time.Duration(r) * time.Millisecond).Format(layout) }
}

// add appends a template, which must hold the placeholder exactly want times.
func (s *stampedBodies) add(template []byte, want int) error {
	if n := bytes.Count(template, []byte(s.stamp)); n != want {
		return fmt.Errorf("request template holds the timestamp %s %d times, want %d", s.stamp, n, want)
	}
	s.templates = append(s.templates, template)
	return nil
}

// body is request i's body.
func (s *stampedBodies) body(i int) []byte {
	n := len(s.templates)
	return bytes.ReplaceAll(s.templates[i%n], []byte(s.stamp), []byte(s.round(i/n)))
}
