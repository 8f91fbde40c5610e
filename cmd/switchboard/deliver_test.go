package main

import (
	"bytes"
	"testing"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/registry"
)

// Every backend of the example province has an adapter that accepts its
// settings: `serve --demo` delivers to all of them.
func TestExampleProvinceBackendsBuild(t *testing.T) {
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	kinds := adapterKinds(nil)
	for _, b := range p.Backends {
		f, ok := kinds[b.Kind]
		if !ok {
			if b.Kind == "manual" {
				continue // built with the store, see adapterKinds
			}
			t.Errorf("backend %s: no adapter for kind %q", b.ID, b.Kind)
			continue
		}
		eps := b.Endpoints
		if b.Service != "" && len(eps) == 0 {
			eps = []string{"http://127.0.0.1:1/" + b.ID} // resolved from Consul at run time
		}
		ad, err := f(adapters.Config{Backend: b.ID, Endpoints: eps, Settings: b.Config})
		if err != nil {
			t.Errorf("backend %s (%s): %v", b.ID, b.Kind, err)
			continue
		}
		if c, ok := ad.(adapters.Closer); ok {
			c.Close()
		}
	}
}
