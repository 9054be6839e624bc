package runfilter_test

import (
	"errors"
	"fmt"

	"github.com/provgraph/provgraph/runfilter"
)

func ExampleParse() {
	expr, err := runfilter.Parse(`metric.auc > 0.9 and (tags.env IN ('dev', 'prod') OR run.created >= 1670628787527)`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(expr)
	and := expr.(*runfilter.And)
	first := and.Terms[0].(*runfilter.Comparison)
	fmt.Println(first.Prefix, first.Key, first.Op, *first.Number)
	// Output:
	// metrics.auc > 0.9 AND (tags.env IN ('dev', 'prod') OR attributes.start_time >= 1670628787527)
	// metrics auc > 0.9
}

func ExampleSyntaxError() {
	for _, filter := range []string{
		"metrics.auc ~ 1",
		"metric_x.auc > 1",
		"metrics.auc LIKE 'x%'",
		"metrics.auc > 'x'",
	} {
		_, err := runfilter.Parse(filter)
		var se *runfilter.SyntaxError
		if errors.As(err, &se) {
			fmt.Printf("%v [at %d, field %q]\n", err, se.Pos, se.Field)
		}
	}
	// Output:
	// filter: position 12: expected a comparison operator after "metrics.auc", found "~" [at 12, field "metrics.auc"]
	// filter: position 0: unknown entity prefix "metric_x" (want metrics, params, tags, attributes or datasets) [at 0, field ""]
	// filter: position 12: operator LIKE is not allowed on metrics (allowed: =, !=, <, <=, >, >=) [at 12, field "metrics.auc"]
	// filter: position 14: metrics.auc needs a number, found string 'x' [at 14, field "metrics.auc"]
}

func ExampleFormat() {
	expr, _ := runfilter.Parse(`status='FAILED' AND ((params."model-type" ilike '%GPT%'))`)
	fmt.Println(runfilter.Format(expr))
	// Output:
	// attributes.status = 'FAILED' AND params.`model-type` ILIKE '%GPT%'
}
