package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/provgraph/provgraph/ingest/mlmd"
	"github.com/provgraph/provgraph/internal/importer"
)

// registerMLMD makes `--format mlmd` read ML Metadata databases with the mapping in
// mappingFile ("" for the defaults). The mapping is part of the import's fingerprint:
// the same database imported with another mapping is another import.
func registerMLMD(mappingFile string) error {
	m, mappingID := mlmd.DefaultMapping(), "default"
	if mappingFile != "" {
		var err error
		if m, err = mlmd.LoadMapping(mappingFile); err != nil {
			return fmt.Errorf("--mapping %s: %w", mappingFile, err)
		}
		data, err := os.ReadFile(mappingFile)
		if err != nil {
			return fmt.Errorf("--mapping %s: %w", mappingFile, err)
		}
		sum := sha256.Sum256(data)
		mappingID = "sha256:" + hex.EncodeToString(sum[:])
	}
	importer.Register(importer.FormatMLMD, func(ctx context.Context, location string) (importer.Opened, error) {
		return openMLMD(ctx, location, m, mappingID)
	})
	return nil
}

// openMLMD reads the database at location whole, in the reader's order (artifacts,
// executions, events, each by id), into items: one a node or edge record, each with its
// row's ref ("execution 17"); a row that cannot be mapped is one failed item.
func openMLMD(ctx context.Context, location string, m mlmd.Mapping, mappingID string) (_ importer.Opened, err error) {
	src, err := mlmd.Open(ctx, location)
	if err != nil {
		return importer.Opened{}, err
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	fp, err := src.Fingerprint(ctx)
	if err != nil {
		return importer.Opened{}, err
	}
	var items []importer.Item
	err = src.Read(ctx, mlmd.Options{Mapping: &m}, func(recs []mlmd.Record) error {
		for _, r := range recs {
			if r.Err != nil {
				items = append(items, importer.Item{Ref: r.Ref, Err: r.Err})
			}
			for i := range r.Nodes {
				items = append(items, importer.Item{Ref: r.Ref, Node: &r.Nodes[i]})
			}
			for i := range r.Edges {
				items = append(items, importer.Item{Ref: r.Ref, Edge: &r.Edges[i]})
			}
		}
		return nil
	})
	if err != nil {
		return importer.Opened{}, err
	}
	return importer.Opened{Source: importer.Items(items), Fingerprint: importer.FormatMLMD + ":" + fp + ":mapping:" + mappingID,
		Total: len(items), Close: func() error { return nil }}, nil
}
