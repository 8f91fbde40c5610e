package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchboard12345/switchboard/classify"
	"github.com/switchboard12345/switchboard/entity"
	"github.com/switchboard12345/switchboard/gateway/assist"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/kb"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// buildAssistant assembles the smart intake from the configured models and
// the in-memory indexes.
func buildAssistant(ctx context.Context, cfg config.Config, routes func() *registry.Snapshot, log *slog.Logger) (*assist.Assistant, error) {
	a := &assist.Assistant{Routes: routes}
	load := func(key, path string) (*classify.Model, string, error) {
		if path == "" {
			return nil, "", nil
		}
		m, err := classify.Load(path)
		if err != nil {
			return nil, "", fmt.Errorf("intake.%s: %w", key, err)
		}
		version := fmt.Sprintf("%s (%s, %d examples, trained %s)", filepath.Base(path), m.Meta.DataDigest[:min(12, len(m.Meta.DataDigest))],
			m.Meta.Examples, m.Meta.Created.Format("2006-01-02"))
		log.Info("intake model loaded", "model", key, "file", path, "labels", len(m.Meta.Labels), "cvMacroF1", m.Meta.CV.MacroF1)
		return m, version, nil
	}
	cm, cv, err := load("categoryModel", cfg.Intake.CategoryModel)
	if err != nil {
		return nil, err
	}
	if cm != nil {
		a.Category, a.CategoryVersion = cm, cv
	}
	um, uv, err := load("unitModel", cfg.Intake.UnitModel)
	if err != nil {
		return nil, err
	}
	if um != nil {
		a.Unit, a.UnitVersion = um, uv
	}
	a.Extractor = &extractor{routes: routes}
	return a, nil
}

// extractor finds entities with package entity, taking the registry's unit
// names (and their short forms) as known places.
type extractor struct {
	routes func() *registry.Snapshot
	mu     sync.Mutex
	rev    uint64
	places []string
}

func (x *extractor) Extract(text string, now time.Time) []ticket.Entity {
	es := entity.Extract(text, entity.Options{Now: now, Places: x.knownPlaces()})
	out := make([]ticket.Entity, len(es))
	for i, e := range es {
		out[i] = ticket.Entity{Type: string(e.Type), Text: e.Text, Start: e.Start, End: e.End, Value: e.Value}
	}
	return out
}

// knownPlaces are the names of the registry's territorial units and their
// short forms (天河区人民政府 → 天河区, 广州市 → 广州;
// registry.Snapshot.PlaceNames), rebuilt when the registry changes.
func (x *extractor) knownPlaces() []string {
	snap := x.routes()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.places != nil && snap.Revision == x.rev {
		return x.places
	}
	places := snap.PlaceNames()
	x.places, x.rev = places, snap.Revision
	return places
}

// knowledge adapts the knowledge-base service to assist.Knowledge.
type knowledge struct {
	svc *service.Knowledge
	log *slog.Logger
}

func (k knowledge) Search(text string, n int, at time.Time) []assist.Answer {
	hits, _, err := k.svc.Search(context.Background(), kb.Query{Text: text, K: n, At: at})
	if err != nil {
		k.log.Warn("knowledge search at intake failed", "err", err)
		return nil
	}
	out := make([]assist.Answer, len(hits))
	for i, h := range hits {
		out[i] = assist.Answer{ID: h.Entry.ID, Title: h.Entry.Title, Answer: h.Entry.Answer, Category: h.Entry.Category, Unit: h.Entry.Unit,
			Score: math.Round(h.Score*1e4) / 1e4}
	}
	return out
}

// categories resolves a model's labels against the current taxonomy: a
// label that is a code, or the name of a category (the highest level
// bearing it: a model trained on 一级分类 names maps to first-level codes).
type categories struct {
	svc *service.Taxonomy
	mu  sync.Mutex
	at  time.Time
	t   *taxonomy.Tree
}

func (c *categories) Resolve(label string) (string, string, bool) {
	c.mu.Lock()
	if c.t == nil || time.Since(c.at) > 5*time.Second {
		if t, _, err := c.svc.Tree(context.Background(), 0); err == nil {
			c.t = t
		}
		c.at = time.Now()
	}
	t := c.t
	c.mu.Unlock()
	if t == nil {
		return "", "", false
	}
	if cat, ok := t.Get(label); ok {
		return cat.Code, cat.Name, true
	}
	best := taxonomy.Category{}
	for _, cat := range t.All() {
		if cat.Name == label && (best.Code == "" || cat.Level < best.Level) {
			best = cat
		}
	}
	return best.Code, best.Name, best.Code != ""
}
