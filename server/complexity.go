package server

import (
	"time"

	"github.com/provgraph/provgraph/graph"
	"github.com/provgraph/provgraph/graph/model"
	"github.com/provgraph/provgraph/store"
)

// complexityRoot weighs a request for MaxComplexity. A field costs 1 plus what is
// selected inside it (gqlgen's default); a field that returns a page or a bounded list
// costs 1 plus its size times what is selected inside each item, the size being:
//
//   - `first` of a connection (default 20, auditLogEntries 100; at most 100: search and
//     the node lists too) and of metricHistory (default
//     1,000, at most 10,000), and `maxPoints` of metricChart (the same);
//   - `budget` of lineage (default and most 10,000 nodes) and impact (default 100);
//     the whole of a lineage answer is weighed by it (its nodes and edges are what
//     grow), and an audit entry's upstream cone, which has no budget, by 10,000;
//   - the number of runs compared, and the 100 paths `paths` may return;
//   - lineageExport, a document of up to 10,000 nodes, costs 10,001.
//
// Other lists (a run's tags or parameters, say) count once. A size outside its range
// is weighed as the nearest allowed one: the field reports the range itself.
func complexityRoot() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	c.Query.Lineage = func(child int, _ []string, _ model.LineageDirection, _ *int, _ []model.NodeKind, _ *time.Time, budget *int, _ *string) int {
		return pageCost(child, budget, store.MaxLineageNodes, store.MaxLineageNodes)
	}
	c.Query.LineageExport = func(int, []string, model.LineageDirection, *int, []model.NodeKind, *time.Time, model.ExportFormat) int {
		return listCost(1, store.MaxLineageNodes)
	}
	c.Query.Paths = func(child int, _, _ string, _ *int) int {
		return listCost(child, store.MaxPaths)
	}
	c.Query.Impact = func(child int, _ string, _ *int, budget *int, _ *string) int {
		return pageCost(child, budget, store.DefaultImpactBudget, store.MaxImpactBudget)
	}
	c.Query.CompareRuns = func(child int, ids []string, _, _ []string, _ []*model.MetricGoalInput) int {
		return listCost(child, min(max(len(ids), 1), store.MaxCompareRuns))
	}
	c.Query.Experiments = func(child int, first *int, _ *string, _ *model.RunView) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Query.SearchRuns = func(child int, _ *string, _, _ []string, _ *model.RunView, first *int, _ *string) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Query.AuditLogEntries = func(child int, _ []string, first *int, _ *string) int {
		return pageCost(child, first, store.MaxPageSize, store.MaxPageSize)
	}
	c.Query.Search = func(child int, _ string, _ []model.NodeKind, first *int, _ *string) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Query.Endpoints = func(child int, _ *string, _ *time.Time, _ *bool, first *int, _ *string) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Query.RegisteredModels = func(child int, _ *string, _ *time.Time, first *int, _ *string) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Query.Datasets = func(child int, _, _ *string, _ *time.Time, first *int, _ *string) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Query.Jobs = func(child int, _ []model.NodeKind, _, _ *string, _ *time.Time, first *int, _ *string) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Experiment.Runs = func(child int, first *int, _ *string, _ *model.RunView) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.RunGroup.Runs = func(child int, first *int, _ *string, _ *model.RunView) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Endpoint.DeploymentHistory = func(child int, first *int, _ *string) int {
		return pageCost(child, first, store.DefaultPageSize, store.MaxPageSize)
	}
	c.Run.MetricHistory = func(child int, _ string, _, _ *int64, first *int, _ *string) int {
		return pageCost(child, first, store.DefaultHistoryPage, store.MaxHistoryPage)
	}
	c.Run.MetricChart = func(child int, _ string, _, _ *int64, maxPoints *int) int {
		return pageCost(child, maxPoints, store.DefaultDownsample, store.MaxDownsample)
	}
	c.AuditEntry.Upstream = func(child int) int {
		return listCost(child, store.MaxLineageNodes)
	}
	return c
}

// pageCost weighs a field returning up to size items (def when not given, at most
// most), each costing child.
func pageCost(child int, size *int, def, most int) int {
	n := def
	if size != nil {
		n = min(max(*size, 1), most)
	}
	return listCost(child, n)
}

// listCost is 1 plus n items costing child each, saturating instead of overflowing.
func listCost(child, n int) int {
	const maxInt = int(^uint(0) >> 1)
	if child > 0 && n > (maxInt-1)/child {
		return maxInt
	}
	return 1 + n*child
}
