package resolvers

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/provgraph/provgraph/graph/model"
	"github.com/provgraph/provgraph/store"
)

// nodeKinds maps store kinds to the GraphQL enum.
var nodeKinds = map[store.Kind]model.NodeKind{
	store.KindDataset:         model.NodeKindDataset,
	store.KindDatasetVersion:  model.NodeKindDatasetVersion,
	store.KindTrainingJob:     model.NodeKindTrainingJob,
	store.KindProcessingJob:   model.NodeKindProcessingJob,
	store.KindArtifact:        model.NodeKindArtifact,
	store.KindRegisteredModel: model.NodeKindRegisteredModel,
	store.KindModelVersion:    model.NodeKindModelVersion,
	store.KindEndpoint:        model.NodeKindEndpoint,
	store.KindExperiment:      model.NodeKindExperiment,
	store.KindRunGroup:        model.NodeKindRunGroup,
	store.KindRun:             model.NodeKindRun,
}

// toNode maps a store node to its GraphQL type. A kind the API does not know is an
// internal error (the store and the schema disagree), not a client error.
func toNode(n store.Node) (model.Node, error) {
	switch n.Kind {
	case store.KindDataset:
		return toDataset(n), nil
	case store.KindDatasetVersion:
		return toDatasetVersion(n), nil
	case store.KindTrainingJob:
		return toTrainingJob(n), nil
	case store.KindProcessingJob:
		return toProcessingJob(n), nil
	case store.KindArtifact:
		return toArtifact(n), nil
	case store.KindRegisteredModel:
		return toRegisteredModel(n), nil
	case store.KindModelVersion:
		return toModelVersion(n), nil
	case store.KindEndpoint:
		return toEndpoint(n), nil
	case store.KindExperiment:
		return toExperiment(n), nil
	case store.KindRunGroup:
		return toRunGroup(n), nil
	case store.KindRun:
		return toRun(n), nil
	}
	return nil, fmt.Errorf("node %q has unknown kind %q", n.Key, n.Kind)
}

func toNodes(ns []store.Node) ([]model.Node, error) {
	out := make([]model.Node, 0, len(ns))
	for _, n := range ns {
		m, err := toNode(n)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func toDataset(n store.Node) *model.Dataset {
	return &model.Dataset{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		Namespace: n.String("namespace"), URI: n.String("uri"),
	}
}

func toDatasetVersion(n store.Node) *model.DatasetVersion {
	return &model.DatasetVersion{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		Namespace: n.String("namespace"), URI: n.String("uri"),
		Version: n.String("version"), Digest: n.OptString("digest"),
		VersionID: n.OptString("versionId"), Description: n.OptString("description"),
	}
}

func toTrainingJob(n store.Node) *model.TrainingJob {
	params := n.DecodeParams("hyperParameters")
	hyper := make([]*model.Parameter, 0, len(params))
	for _, p := range params {
		hyper = append(hyper, &model.Parameter{Key: p.Key, Value: p.Value})
	}
	return &model.TrainingJob{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		Namespace: n.String("namespace"), Status: jobStatus(n),
		StartedAt: n.OptTime("startedAt"), EndedAt: n.OptTime("endedAt"),
		InstanceType: n.OptString("instanceType"), CodeVersion: n.OptString("codeVersion"),
		HyperParameters: hyper,
	}
}

func toParams(params []store.Param) []*model.Parameter {
	out := make([]*model.Parameter, 0, len(params))
	for _, p := range params {
		out = append(out, &model.Parameter{Key: p.Key, Value: p.Value})
	}
	return out
}

func toProcessingJob(n store.Node) *model.ProcessingJob {
	return &model.ProcessingJob{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		Namespace: n.String("namespace"), Status: jobStatus(n),
		StartedAt: n.OptTime("startedAt"), EndedAt: n.OptTime("endedAt"),
		InstanceType: n.OptString("instanceType"), CodeVersion: n.OptString("codeVersion"),
		Parameters: toParams(n.DecodeParams("parameters")),
	}
}

func toArtifact(n store.Node) *model.Artifact {
	a := &model.Artifact{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		URI: n.String("uri"), Digest: n.OptString("digest"), MediaType: n.OptString("mediaType"),
		ChartType: optEnum[model.ChartType](n.OptString("chartType")), Body: n.Body(),
		Params: []*model.Parameter{}, Tags: []*model.Tag{},
	}
	if lm, ok := n.LoggedModel(); ok {
		status := loggedModelStatuses[lm.Status]
		if status != "" {
			a.Status = &status
		}
		a.Params, a.Tags = toParams(lm.Params), toTags(lm.Tags)
	}
	return a
}

// loggedModelStatuses maps the store's logged-model statuses to the API's; one the API
// does not know is left null.
var loggedModelStatuses = map[store.LoggedModelStatus]model.LoggedModelStatus{
	store.LoggedModelPending: model.LoggedModelStatusPending,
	store.LoggedModelReady:   model.LoggedModelStatusReady,
	store.LoggedModelFailed:  model.LoggedModelStatusFailed,
}

func toRegisteredModel(n store.Node) *model.RegisteredModel {
	return &model.RegisteredModel{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		LatestVersion: int(n.Int("latestVersion")),
		Description:   n.OptString("description"), Tags: toTags(n.Tags()),
	}
}

func toModelVersion(n store.Node) *model.ModelVersion {
	return &model.ModelVersion{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		Version: int(n.Int("version")), Source: n.String("source"),
		Description: n.OptString("description"), Framework: n.OptString("framework"),
		Signature: n.Signature(), Metrics: toModelMetrics(n.ModelMetrics()), Tags: toTags(n.Tags()),
	}
}

func toTags(tags []store.Tag) []*model.Tag {
	out := make([]*model.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, &model.Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

func toModelMetrics(ms []store.ModelMetric) []*model.ModelMetric {
	out := make([]*model.ModelMetric, 0, len(ms))
	for _, m := range ms {
		out = append(out, &model.ModelMetric{Key: m.Key, Value: m.Value})
	}
	return out
}

func toStoreTags(tags []*model.TagInput) []store.Tag {
	out := make([]store.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, store.Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

func toStoreMetrics(ms []*model.ModelMetricInput) []store.ModelMetric {
	out := make([]store.ModelMetric, 0, len(ms))
	for _, m := range ms {
		out = append(out, store.ModelMetric{Key: m.Key, Value: m.Value})
	}
	return out
}

func toEndpoint(n store.Node) *model.Endpoint {
	return &model.Endpoint{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
	}
}

func toDeployment(d store.Deployment) *model.Deployment {
	return &model.Deployment{
		ID: d.ID, Endpoint: toEndpoint(d.Endpoint), ModelVersion: toModelVersion(d.ModelVersion),
		Variant: d.Variant, TrafficShare: d.TrafficShare, From: d.From, To: d.To,
		RecordedBy: d.RecordedBy,
	}
}

func toLineage(l store.Lineage) (*model.LineageGraph, error) {
	nodes, err := toNodes(l.Nodes)
	if err != nil {
		return nil, err
	}
	return &model.LineageGraph{Nodes: nodes, Edges: toEdges(l.Edges), Truncated: l.Truncated, PageInfo: pageInfo(l.EndCursor)}, nil
}

func toPath(p store.Path) (*model.LineagePath, error) {
	nodes, err := toNodes(p.Nodes)
	if err != nil {
		return nil, err
	}
	return &model.LineagePath{Nodes: nodes, Edges: toEdges(p.Edges), Length: len(p.Edges)}, nil
}

func toEdges(es []store.Edge) []*model.LineageEdge {
	out := make([]*model.LineageEdge, 0, len(es))
	for _, e := range es {
		out = append(out, &model.LineageEdge{From: e.From, To: e.To, Type: model.LineageEdgeType(e.Type)})
	}
	return out
}

func toImpact(im store.Impact) *model.Impact {
	out := &model.Impact{Truncated: im.Truncated, PageInfo: pageInfo(im.EndCursor)}
	for _, v := range im.ModelVersions {
		out.ModelVersions = append(out.ModelVersions, toModelVersion(v))
	}
	for _, e := range im.Endpoints {
		ie := &model.ImpactedEndpoint{Endpoint: toEndpoint(e.Endpoint), ServingNow: len(e.ServingNow) > 0}
		for _, v := range e.ServingNow {
			ie.ServingVersions = append(ie.ServingVersions, toModelVersion(v))
		}
		if ie.ServingVersions == nil {
			ie.ServingVersions = []*model.ModelVersion{}
		}
		out.Endpoints = append(out.Endpoints, ie)
	}
	if out.ModelVersions == nil {
		out.ModelVersions = []*model.ModelVersion{}
	}
	if out.Endpoints == nil {
		out.Endpoints = []*model.ImpactedEndpoint{}
	}
	return out
}

func toApprovals(history []store.Approval) []*model.Approval {
	out := make([]*model.Approval, 0, len(history))
	for _, a := range history {
		out = append(out, &model.Approval{Status: model.ApprovalStatus(a.Status), Comment: a.Comment, At: a.At, Actor: a.Actor})
	}
	return out
}

func toAlias(m store.AliasMove) *model.ModelAlias {
	return &model.ModelAlias{Alias: m.Alias, ModelVersion: toModelVersion(m.Version), From: m.From, To: m.To, RecordedBy: m.RecordedBy}
}

func toAliases(moves []store.AliasMove) []*model.ModelAlias {
	out := make([]*model.ModelAlias, 0, len(moves))
	for _, m := range moves {
		out = append(out, toAlias(m))
	}
	return out
}

func toAuditTrail(t store.AuditTrail) (*model.AuditTrail, error) {
	out := &model.AuditTrail{At: t.At, Entries: []*model.AuditEntry{}}
	if t.Endpoint != nil {
		out.Endpoint = toEndpoint(*t.Endpoint)
	}
	for _, e := range t.Entries {
		producers, err := toNodes(e.Producers)
		if err != nil {
			return nil, err
		}
		data, err := toNodes(e.TrainingData)
		if err != nil {
			return nil, err
		}
		upstream, err := toLineage(e.Upstream)
		if err != nil {
			return nil, err
		}
		entry := &model.AuditEntry{
			ModelVersion:   toModelVersion(e.Version),
			ApprovalStatus: model.ApprovalStatus(store.StatusOf(e.Approvals)),
			Approvals:      toApprovals(e.Approvals),
			ProducedBy:     producers,
			TrainingData:   data,
			Upstream:       upstream,
		}
		if e.Deployment != nil {
			entry.Deployment = toDeployment(*e.Deployment)
		}
		out.Entries = append(out.Entries, entry)
	}
	return out, nil
}

// lineageQuery maps the arguments lineage and lineageExport share to a store query.
func lineageQuery(start []string, direction model.LineageDirection, maxDepth *int, kinds []model.NodeKind, asOf *time.Time) store.LineageQuery {
	return store.LineageQuery{
		Start: start, Direction: store.Direction(direction),
		MaxDepth: deref(maxDepth, store.DefaultLineageDepth),
		Kinds:    storeKinds(kinds), AsOf: asOf,
	}
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// storeKinds maps GraphQL node kinds to store kinds.
func storeKinds(kinds []model.NodeKind) []store.Kind {
	out := make([]store.Kind, 0, len(kinds))
	for _, k := range kinds {
		for sk, gk := range nodeKinds {
			if gk == k {
				out = append(out, sk)
			}
		}
	}
	return out
}

// pageInfo says whether a next page follows, given its cursor ("" when none does).
func pageInfo(endCursor string) *model.PageInfo {
	if endCursor == "" {
		return &model.PageInfo{}
	}
	return &model.PageInfo{HasNextPage: true, EndCursor: &endCursor}
}

// jobStatus is a job's status; a job recorded without one (an ingest surface that saw
// it start) has not been reported to have ended.
func jobStatus(n store.Node) model.JobStatus {
	if st := n.String("status"); st != "" {
		return model.JobStatus(st)
	}
	return model.JobStatusInProgress
}

func toAuditLogEntry(e store.AuditLogEntry) *model.AuditLogEntry {
	targets := e.Targets
	if targets == nil {
		targets = []string{}
	}
	return &model.AuditLogEntry{
		Seq: e.Seq, Hash: e.Hash, PrevHash: e.PrevHash, Action: e.Action, Actor: e.Actor, At: e.At,
		Targets: targets, TargetCount: e.TargetCount, RequestID: e.RequestID, HashValid: e.ComputeHash() == e.Hash,
		Changes: toAuditChanges(e.Changes),
	}
}

func toAuditChanges(cs []store.AuditChange) []*model.AuditChange {
	out := make([]*model.AuditChange, len(cs))
	for i, c := range cs {
		out[i] = &model.AuditChange{Target: c.Target, Field: c.Field, Old: c.Old, New: c.New}
	}
	return out
}

// verifyPageSpan verifies the chain from a page's first entry to its last, at most
// store.MaxAuditVerifyRange entries (one verifyAuditLog call's worth, so a page stays
// a bounded read); for an empty page it checks nothing and reports the head.
func verifyPageSpan(ctx context.Context, st *store.Store, entries []store.AuditLogEntry) (store.AuditVerification, error) {
	if len(entries) == 0 {
		return st.VerifyAuditSpan(ctx, 1, 0)
	}
	from := entries[0].Seq
	to := min(entries[len(entries)-1].Seq, from+store.MaxAuditVerifyRange-1)
	return st.VerifyAuditLog(ctx, &from, &to)
}

func toAuditVerification(v store.AuditVerification) *model.AuditVerification {
	out := &model.AuditVerification{
		Verified: v.FirstBreak == nil, Checked: v.Checked, From: v.From, To: v.To, Head: v.Head,
	}
	if b := v.FirstBreak; b != nil {
		out.FirstBreak = &model.AuditBreak{Seq: b.Seq, Reason: model.AuditBreakReason(b.Reason), Expected: b.Expected, Found: b.Found}
	}
	return out
}

func toAuditCheckpoint(c store.AuditCheckpoint, verifierKey string) *model.AuditCheckpoint {
	return &model.AuditCheckpoint{
		Origin: c.Origin, TreeSize: c.Size, RootHash: c.Root.String(), Time: c.At, SignedNote: c.Note, VerifierKey: verifierKey,
	}
}

// hashStrings renders a proof's hashes in base64, as checkpoints show hashes.
func hashStrings(hashes []tlog.Hash) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		out[i] = h.String()
	}
	return out
}
