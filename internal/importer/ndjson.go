package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/store"
)

// MaxLineBytes is the longest line of an NDJSON file: one OpenLineage event, as large
// as the service accepts one.
const MaxLineBytes = openlineage.MaxEventBytes

// OpenLineageNDJSON reads OpenLineage events, one JSON object a line (what Marquez
// stores and openlineage-python's FileTransport writes), as lineage reports. Blank
// lines are skipped; each other line is an item, its ref "line N".
type OpenLineageNDJSON struct {
	r    *bufio.Reader
	line int
}

// NewOpenLineageNDJSON reads events from r.
func NewOpenLineageNDJSON(r io.Reader) *OpenLineageNDJSON {
	return &OpenLineageNDJSON{r: bufio.NewReaderSize(r, 1<<20)}
}

// Next returns the next event's report.
func (s *OpenLineageNDJSON) Next() (Item, error) {
	for {
		raw, tooLong, err := s.readLine()
		if err != nil && (len(raw) == 0 && !tooLong) {
			return Item{}, err
		}
		s.line++
		it := Item{Ref: fmt.Sprintf("line %d", s.line)}
		if tooLong {
			it.Err = apperr.Invalid("", "the line is longer than %d bytes", MaxLineBytes)
			return it, nil
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var v any
		if jerr := json.Unmarshal(raw, &v); jerr != nil {
			it.Err = apperr.Invalid("", "not JSON: %v", jerr)
			return it, nil
		}
		ev, derr := openlineage.Decode(v)
		if derr != nil {
			it.Err = derr
			return it, nil
		}
		rep, terr := openlineage.Translate(ev)
		if terr != nil {
			it.Err = openlineage.InEventTerms(ev, terr)
			return it, nil
		}
		it.Report = &rep
		it.Explain = func(err error) error { return openlineage.InEventTerms(ev, err) }
		return it, nil
	}
}

// readLine reads one line without its newline; a line over MaxLineBytes is read to its
// end and dropped (tooLong). At the end of the input err is io.EOF, with the last line
// when it had no newline.
func (s *OpenLineageNDJSON) readLine() (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if !tooLong {
			if int64(len(buf)+len(chunk)) > MaxLineBytes+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(buf, []byte("\n")), tooLong, err
	}
}

// openLineageRunsIn is where reported runs go.
var openLineageRunsIn = openlineage.RunsExperiment()

// RunsExperiment is the experiment an import's lineage reports record runs in.
func RunsExperiment() store.ExperimentInput { return openLineageRunsIn }
