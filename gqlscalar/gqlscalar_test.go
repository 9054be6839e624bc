package gqlscalar

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func TestMetricValueRoundTrip(t *testing.T) {
	for _, f := range []float64{0, -1.5, 1e300, math.NaN(), math.Inf(1), math.Inf(-1)} {
		var b bytes.Buffer
		MarshalMetricValue(f).MarshalGQL(&b)
		var raw any
		d := json.NewDecoder(&b)
		d.UseNumber()
		if err := d.Decode(&raw); err != nil {
			t.Fatalf("%v marshals to invalid JSON %q", f, b.String())
		}
		got, err := UnmarshalMetricValue(raw)
		if err != nil || !(got == f || math.IsNaN(f) && math.IsNaN(got)) {
			t.Errorf("round trip of %v gave %v, %v", f, got, err)
		}
	}
	for _, bad := range []any{"nan", "1.5", true, nil} {
		if _, err := UnmarshalMetricValue(bad); err == nil {
			t.Errorf("UnmarshalMetricValue(%#v) accepted", bad)
		}
	}
}
