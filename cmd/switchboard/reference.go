package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/kb"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// referenceStore keeps the taxonomy and the knowledge base.
type referenceStore interface {
	store.Taxonomies
	store.Knowledge
}

// seedReference gives a demo server's empty store the example taxonomy
// (deploy/examples/categories.csv) and the demo knowledge base
// (deploy/examples/knowledge.yaml); each only when the store has none. A
// store that holds its own is left alone.
func seedReference(ctx context.Context, st referenceStore, demo bool, log *slog.Logger) error {
	if !demo {
		return nil
	}
	const actor = "system:startup"
	now := time.Now()
	cur, err := st.CurrentTaxonomyVersion(ctx)
	if err != nil {
		return err
	}
	if cur == 0 {
		tree, err := taxonomy.Parse(examples.Categories, taxonomy.FormatCSV)
		if err != nil {
			return fmt.Errorf("deploy/examples/categories.csv: %w", err)
		}
		v, err := st.ImportTaxonomy(ctx, store.TaxonomyVersion{CreatedAt: now, CreatedBy: actor, Source: "deploy/examples/categories.csv",
			Note: "example taxonomy (2020 泰迪杯 附件1); codes assigned by this project, not official", Categories: tree.All()})
		if err != nil {
			return fmt.Errorf("seeding the taxonomy: %w", err)
		}
		log.Info("taxonomy seeded", "from", "deploy/examples/categories.csv", "version", v.Version, "categories", v.Count)
	}
	rev, err := st.KnowledgeRevision(ctx)
	if err != nil {
		return err
	}
	if rev == 0 {
		entries, err := kb.ParseEntries(examples.Knowledge, kb.FormatYAML)
		if err != nil {
			return fmt.Errorf("deploy/examples/knowledge.yaml: %w", err)
		}
		res, err := st.ImportEntries(ctx, store.EntryImport{Entries: entries, At: now, Actor: actor})
		if err != nil {
			return fmt.Errorf("seeding the knowledge base: %w", err)
		}
		log.Info("knowledge base seeded", "from", "deploy/examples/knowledge.yaml", "entries", res.Created, "revision", res.Revision)
	}
	return nil
}
