package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/switchboard12345/switchboard/classify"
	"github.com/switchboard12345/switchboard/gateway/assist"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/registry"
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
	return a, nil
}
