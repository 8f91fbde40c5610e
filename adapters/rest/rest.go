// Package rest delivers work orders to department systems that take a JSON
// webhook: one HTTP request (POST by default) per message, carrying
//
//	{"key":…,"topic":…,"unit":…,"attempt":…,"ticket":{…},"event":{…}}
//
// in UTF-8 (Chinese as it is), the idempotency key in a header as well
// (Idempotency-Key by default), and, when a signing secret is configured, an
// HMAC-SHA256 signature over the timestamp and the body (see Sign). The
// ticket's fields can be renamed for the department's spelling (fieldMap).
//
// Answers map to package adapters' kinds: a 2xx is an acceptance (the
// backend's reference, if it gives one, from the JSON field idField); a 409
// is an acceptance of a key already received (Receipt.Duplicate); 400, 404,
// 405, 410, 413 and 422 are Permanent; 429 and 503 with Retry-After are
// RetryAfter; everything else (other 5xx, network failures, timeouts) is
// transient, since the backend may have acted and a retry carries the same
// key. Redirects are not followed. At most 1 MiB of an answer is read, and at
// most 200 bytes of the backend's text appear in an error.
package rest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/httpx"
	"github.com/switchboard12345/switchboard/adapters/internal/settings"
)

// Adapter is a REST (JSON webhook) backend.
type Adapter struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
	getenv func(string) string
}

var (
	_ adapters.Adapter = (*Adapter)(nil)
	_ adapters.Closer  = (*Adapter)(nil)
	_ adapters.Factory = Factory
)

// New returns the adapter of a REST backend configured by c (see Config for
// the settings). It validates the settings; it does no I/O.
func New(c adapters.Config) (*Adapter, error) {
	cfg, err := Decode(c)
	if err != nil {
		return nil, err
	}
	return &Adapter{
		cfg:    cfg,
		client: httpx.NewClient(), // redirects are reported, not followed
		now:    time.Now,
		getenv: os.Getenv,
	}, nil
}

// Factory is New as an adapters.Factory, for a registry of adapter kinds.
func Factory(c adapters.Config) (adapters.Adapter, error) {
	a, err := New(c)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Config returns the adapter's configuration, defaults applied.
func (a *Adapter) Config() Config { return a.cfg }

// Deliver sends d as a JSON message and interprets the answer.
func (a *Adapter) Deliver(ctx context.Context, d adapters.Delivery) (adapters.Receipt, error) {
	body, err := encodeBody(d, a.cfg.FieldMap)
	if err != nil {
		// Nothing was sent, and this message encodes the same every time.
		return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("rest: work order %s: %w", d.Ticket.TrackingNumber, err)}
	}
	var secret string
	if a.cfg.SigningSecretEnv != "" {
		if secret, err = settings.Secret(a.getenv, "signingSecretEnv", a.cfg.SigningSecretEnv); err != nil {
			// Nothing was sent; setting the variable and retrying can help.
			return adapters.Receipt{}, fmt.Errorf("rest backend %q: %w", a.cfg.Backend, err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, a.cfg.Method, a.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("rest: building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(a.cfg.IdempotencyHeader, d.Key)
	if secret != "" {
		ts := strconv.FormatInt(a.now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign([]byte(secret), ts, body))
	}

	resp, err := a.client.Do(req)
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("rest: delivering work order %s: %w", d.Ticket.TrackingNumber, err)
	}
	defer resp.Body.Close()
	raw, err := httpx.ReadBody(resp.Body, maxResponse)
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("rest: reading the answer (HTTP %d) to work order %s (it may have been accepted; retry with the same key): %w", resp.StatusCode, d.Ticket.TrackingNumber, err)
	}
	r, err := interpret(&a.cfg, d.Key, resp.StatusCode, resp.Header, raw, a.now())
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("rest: work order %s: %w", d.Ticket.TrackingNumber, err)
	}
	return r, nil
}

// Close releases idle connections.
func (a *Adapter) Close() error {
	a.client.CloseIdleConnections()
	return nil
}
