// Package soap delivers work orders to department systems that expose a SOAP
// web service, the usual shape of older government systems: an operation
// such as ReceiveWorkOrder in http://gd.gov.cn/12345/ taking pinyin-named
// fields (<gdbh> 工单编号, <bt> 标题, <nr> 内容 …).
//
// The adapter renders a configurable Go text/template into the Body of a
// SOAP 1.1 or 1.2 envelope (every printed value XML-escaped), POSTs it with
// the idempotency key in an HTTP header as well as in the body (the
// template's <lsh> serial number), and reads the answer by local element
// names whatever the namespaces: the case number (resultPath), an optional
// business result code (successCodePath), or a fault.
//
// Errors follow package adapters: a 1.1 Client or 1.2 Sender fault, a refused
// business code and a 4xx answer without a fault are Permanent; Server and
// Receiver faults, 5xx, 408, network failures and timeouts are transient; a
// 429 or 503 with Retry-After is a RetryAfter. An answer that cannot be read
// after a 2xx is transient, since the backend may have acted: a retry carries
// the same key. At most 1 MiB of an answer is read, and at most 200 bytes of
// the backend's text appear in an error.
package soap

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"text/template"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/httpx"
)

// adapter is a SOAP backend.
type adapter struct {
	cfg    Config
	client *http.Client
	now    func() time.Time

	mu   sync.Mutex
	tmpl *template.Template // nil until templateFile is read
}

var (
	_ adapters.Factory = New
	_ adapters.Closer  = (*adapter)(nil)
)

// New returns the adapter of a SOAP backend configured by c (see Config for
// the settings). It validates the settings and parses an inline template; it
// does no I/O: a templateFile is read on the first delivery.
func New(c adapters.Config) (adapters.Adapter, error) {
	cfg, err := Decode(c)
	if err != nil {
		return nil, err
	}
	a := &adapter{
		cfg:    cfg,
		client: httpx.NewClient(), // redirects are reported, not followed
		now:    time.Now,
	}
	if cfg.TemplateFile == "" {
		text := cfg.Template
		if text == "" {
			text = DefaultTemplate
		}
		t, err := parseTemplate("template", text, cfg.Version)
		if err != nil {
			return nil, fmt.Errorf("soap backend %q: template: %w", cfg.Backend, err)
		}
		a.tmpl = t
	}
	return a, nil
}

// Deliver POSTs d as a SOAP envelope and interprets the answer.
func (a *adapter) Deliver(ctx context.Context, d adapters.Delivery) (adapters.Receipt, error) {
	t, err := a.template()
	if err != nil {
		// Nothing was sent; fixing the file and retrying can help.
		return adapters.Receipt{}, err
	}
	body, err := render(t, a.cfg.Version, d)
	if err != nil {
		// Nothing was sent, and this message renders the same every time.
		return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("soap: %w", err)}
	}

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("soap: building the request: %w", err)
	}
	ct, soapAction := contentType(a.cfg.Version, a.cfg.Action)
	req.Header.Set("Content-Type", ct)
	if soapAction != "" {
		req.Header.Set("SOAPAction", soapAction)
	}
	req.Header.Set("Accept", "text/xml, application/soap+xml")
	req.Header.Set(a.cfg.IdempotencyHeader, d.Key)

	resp, err := a.client.Do(req)
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("soap: posting work order %s: %w", d.Ticket.TrackingNumber, err)
	}
	defer resp.Body.Close()
	raw, err := httpx.ReadBody(resp.Body, maxResponse)
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("soap: reading the answer to work order %s (it may have been accepted): %w", d.Ticket.TrackingNumber, err)
	}
	r, err := interpret(&a.cfg, resp.StatusCode, resp.Header, raw, a.now())
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("soap: work order %s: %w", d.Ticket.TrackingNumber, err)
	}
	return r, nil
}

// template returns the Body template, reading templateFile the first time
// (and again after a failure, so that a fixed file is picked up).
func (a *adapter) template() (*template.Template, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tmpl != nil {
		return a.tmpl, nil
	}
	text, err := os.ReadFile(a.cfg.TemplateFile)
	if err != nil {
		return nil, fmt.Errorf("soap backend %q: templateFile: %w", a.cfg.Backend, err)
	}
	t, err := parseTemplate(a.cfg.TemplateFile, string(text), a.cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("soap backend %q: templateFile %s: %w", a.cfg.Backend, a.cfg.TemplateFile, err)
	}
	a.tmpl = t
	return t, nil
}

// Close releases idle connections.
func (a *adapter) Close() error {
	a.client.CloseIdleConnections()
	return nil
}
