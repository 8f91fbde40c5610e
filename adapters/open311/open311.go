// Package open311 delivers work orders to department systems that speak
// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), and polls them
// for status changes.
//
// A work order becomes a service request: POST {url}/requests.json, form
// encoded, with service_code chosen from the work order's category
// (serviceCodeMap, longest prefix wins), description = title + "\n" +
// content, address_string, first_name and phone when known (the phone is
// masked upstream), and two service attributes: attribute[switchboard_key]
// (the idempotency key) and attribute[tracking_number]. Whether a server
// de-duplicates on switchboard_key is up to the server; GeoReport has no
// idempotency of its own. The answer carries the service_request_id
// (Receipt.ExternalID) or, on servers that create requests asynchronously, a
// token: the adapter then polls GET {url}/tokens/{token}.json (backoff 100ms
// doubling to 1s, bounded by the caller's deadline) until an id appears. When
// the deadline passes first, the delivery fails transiently and the adapter
// remembers the token, so that the next attempt of the same key resumes
// polling instead of creating a second request (in this process; after a
// restart the request is posted again with the same key).
//
// GeoReport can create a service request and nothing else, so only the
// topics ticket.dispatch and ticket.reopen (a new request for the re-handling)
// are delivered; ticket.supervise, ticket.decideExtension and
// ticket.withdraw are refused (Permanent) without sending anything.
//
// Errors follow package adapters: HTTP 400, 404, 405, 410, 413 and 422 (or a
// 2xx carrying a GeoReport error array with such a code) are Permanent; 429
// and 503 with Retry-After are RetryAfter; 5xx, 401/403, network failures,
// timeouts and unreadable answers to a 2xx are transient. At most 200 bytes of
// the backend's text appear in an error.
//
// The adapter is an adapters.UpdateFetcher (see Updates for the mapping of
// GeoReport statuses) and an adapters.HealthChecker, and lists the server's
// services (Services).
package open311

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/httpx"
	"github.com/switchboard12345/switchboard/adapters/internal/settings"
)

// Adapter is an Open311 GeoReport v2 backend.
type Adapter struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
	getenv func(string) string
	// pollMin and pollMax bound the wait between token polls.
	pollMin, pollMax time.Duration

	mu sync.Mutex
	// pending maps the idempotency key of a request the server accepted
	// with a token to that token, until its id is known.
	pending map[string]string
}

// maxPending bounds the tokens remembered for later attempts.
const maxPending = 10000

var (
	_ adapters.Adapter       = (*Adapter)(nil)
	_ adapters.UpdateFetcher = (*Adapter)(nil)
	_ adapters.HealthChecker = (*Adapter)(nil)
	_ adapters.Closer        = (*Adapter)(nil)
	_ adapters.Factory       = Factory
)

// New returns the adapter of an Open311 backend configured by c (see Config
// for the settings). It validates the settings; it does no I/O.
func New(c adapters.Config) (*Adapter, error) {
	cfg, err := Decode(c)
	if err != nil {
		return nil, err
	}
	return &Adapter{
		cfg:     cfg,
		client:  httpx.NewClient(), // redirects are reported, not followed
		now:     time.Now,
		getenv:  os.Getenv,
		pollMin: 100 * time.Millisecond,
		pollMax: time.Second,
		pending: map[string]string{},
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

// creates reports whether a topic is delivered as a new service request.
func creates(topic string) bool {
	return topic == "ticket.dispatch" || topic == "ticket.reopen"
}

// Deliver posts d as a service request and returns its service_request_id,
// polling for it when the server answers with a token.
func (a *Adapter) Deliver(ctx context.Context, d adapters.Delivery) (adapters.Receipt, error) {
	tn := d.Ticket.TrackingNumber
	if !creates(d.Topic) {
		return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("open311: work order %s: GeoReport v2 has no operation for %q (only ticket.dispatch and ticket.reopen are delivered)", tn, d.Topic)}
	}
	if token, ok := a.pendingToken(d.Key); ok {
		return a.await(ctx, d, token)
	}
	code, ok := a.cfg.ServiceCode(d.Ticket.Category)
	if !ok {
		return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("open311 backend %q: work order %s: category %q matches no prefix of serviceCodeMap, which has no default", a.cfg.Backend, tn, d.Ticket.Category)}
	}
	apiKey := a.cfg.APIKey
	if a.cfg.APIKeyEnv != "" {
		var err error
		if apiKey, err = settings.Secret(a.getenv, "apiKeyEnv", a.cfg.APIKeyEnv); err != nil {
			// Nothing was sent; setting the variable and retrying can help.
			return adapters.Receipt{}, fmt.Errorf("open311 backend %q: %w", a.cfg.Backend, err)
		}
	}
	body := requestForm(d, code, apiKey, a.cfg.JurisdictionID).Encode()

	status, h, raw, err := a.do(ctx, http.MethodPost, a.cfg.URL+"/requests.json", strings.NewReader(body), maxResponse)
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("open311: posting the service request for work order %s: %w", tn, err)
	}
	id, token, err := interpretCreated(status, h, raw, a.now())
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("open311: posting the service request for work order %s: %w", tn, err)
	}
	if id != "" {
		return adapters.Receipt{ExternalID: id}, nil
	}
	a.remember(d.Key, token)
	return a.await(ctx, d, token)
}

// await polls token until the server gives the service request's id or ctx
// ends. Failed polls are retried: the request exists either way.
func (a *Adapter) await(ctx context.Context, d adapters.Delivery, token string) (adapters.Receipt, error) {
	delay := a.pollMin
	var last error
	for {
		id, err := a.pollToken(ctx, token)
		if id != "" {
			a.forget(d.Key)
			return adapters.Receipt{ExternalID: id}, nil
		}
		wait := delay
		if err != nil {
			last = err
			if ra, ok := adapters.RetryDelay(err); ok && ra > wait {
				wait = ra
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			why := "the server has not assigned one yet"
			if last != nil {
				why = "last poll: " + last.Error()
			}
			return adapters.Receipt{}, fmt.Errorf("open311: work order %s: the service request was accepted with token %q but its id is not known (%s; the next attempt polls again): %w", d.Ticket.TrackingNumber, token, why, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, a.pollMax)
	}
}

// pollToken asks once for the id of the request created with token: "" and
// nil while it has none.
func (a *Adapter) pollToken(ctx context.Context, token string) (string, error) {
	u := a.cfg.URL + "/tokens/" + url.PathEscape(token) + ".json" + a.query(nil)
	status, h, raw, err := a.do(ctx, http.MethodGet, u, nil, maxResponse)
	if err != nil {
		return "", err
	}
	if status < 200 || status >= 300 {
		return "", classify(status, h, raw, a.now())
	}
	return parseToken(raw)
}

func (a *Adapter) pendingToken(key string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.pending[key]
	return t, ok
}

func (a *Adapter) remember(key, token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.pending) < maxPending {
		a.pending[key] = token
	}
}

func (a *Adapter) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.pending, key)
}

// Updates returns the status changes of service requests updated after
// cursor (an updated_datetime; "" starts from the epoch), from GET
// {url}/requests.json?updated_after=…, and the cursor for the next call: the
// latest updated_datetime seen, or cursor itself when nothing is newer.
//
// Status closed becomes Action "reply" with Text = status_notes; status open
// becomes Action "sign" (the department's system has taken the request on).
// Returns and extension requests have no GeoReport status and are not
// inferred from notes. Update.ID is service_request_id@updated_datetime;
// Update.ExternalID is the service_request_id (TicketID stays empty: a
// GeoReport list does not carry our attributes). updated_after is not part
// of GeoReport v2 proper; the server must support it. Servers with
// inclusive semantics repeat the latest updates, which the IDs de-duplicate.
func (a *Adapter) Updates(ctx context.Context, cursor string) ([]adapters.Update, string, error) {
	after := cursor
	if after == "" {
		after = Epoch
	}
	u := a.cfg.URL + "/requests.json" + a.query(url.Values{"updated_after": {after}})
	status, h, raw, err := a.do(ctx, http.MethodGet, u, nil, maxListResponse)
	if err != nil {
		return nil, cursor, fmt.Errorf("open311: fetching updates: %w", err)
	}
	if status < 200 || status >= 300 {
		return nil, cursor, fmt.Errorf("open311: fetching updates: %w", classify(status, h, raw, a.now()))
	}
	rs, err := parseRequests(raw)
	if err != nil {
		return nil, cursor, fmt.Errorf("open311: fetching updates: %w", err)
	}
	ups, next := mapUpdates(rs, cursor)
	return ups, next, nil
}

// Services lists the server's services (GET {url}/services.json), the
// service codes serviceCodeMap may name.
func (a *Adapter) Services(ctx context.Context) ([]Service, error) {
	status, h, raw, err := a.do(ctx, http.MethodGet, a.cfg.URL+"/services.json"+a.query(nil), nil, maxListResponse)
	if err != nil {
		return nil, fmt.Errorf("open311: listing services: %w", err)
	}
	if status < 200 || status >= 300 {
		return nil, fmt.Errorf("open311: listing services: %w", classify(status, h, raw, a.now()))
	}
	s, err := parseServices(raw)
	if err != nil {
		return nil, fmt.Errorf("open311: listing services: %w", err)
	}
	return s, nil
}

// Health reports whether the server lists its services.
func (a *Adapter) Health(ctx context.Context) error {
	_, err := a.Services(ctx)
	return err
}

// Close releases idle connections.
func (a *Adapter) Close() error {
	a.client.CloseIdleConnections()
	return nil
}

// query returns "?" and q with jurisdiction_id added, or "" when empty.
func (a *Adapter) query(q url.Values) string {
	if a.cfg.JurisdictionID != "" {
		if q == nil {
			q = url.Values{}
		}
		q.Set("jurisdiction_id", a.cfg.JurisdictionID)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// do sends one request within the adapter's timeout and reads at most limit
// bytes of the answer. A body makes it a form POST.
func (a *Adapter) do(ctx context.Context, method, u string, body io.Reader, limit int64) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("building the request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := httpx.ReadBody(resp.Body, limit)
	if err != nil {
		if method == http.MethodPost {
			err = fmt.Errorf("reading the answer (HTTP %d; the request may have been created, retry with the same key): %w", resp.StatusCode, err)
		} else {
			err = fmt.Errorf("reading the answer (HTTP %d): %w", resp.StatusCode, err)
		}
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, bytes.TrimSpace(raw), nil
}
