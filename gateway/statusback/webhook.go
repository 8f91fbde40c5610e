package statusback

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard12345/switchboard/gateway/restjson"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// Pattern is where the webhook is served on the gateway's HTTP port.
const Pattern = "POST /v1/backends/{backend}/updates"

// Webhook headers.
const (
	HeaderTimestamp = "X-Switchboard-Timestamp"
	HeaderSignature = "X-Switchboard-Signature"
)

// DefaultWindow is how far a webhook's timestamp may be from now.
const DefaultWindow = 5 * time.Minute

// Result statuses of one update.
const (
	Applied   = "applied"
	Duplicate = "duplicate"
	Rejected  = "rejected"
)

// HandlerConfig configures the webhook Handler.
type HandlerConfig struct {
	// Routes returns the current registry snapshot (registry.Live.Snapshot).
	Routes func() *registry.Snapshot
	Apply  Applier
	// Now is the clock for the replay window; nil means time.Now.
	Now func() time.Time
	// Window is how far the timestamp may be from now, either way; 0 means
	// DefaultWindow.
	Window time.Duration
	// Getenv reads webhookSecretEnv; nil means os.Getenv.
	Getenv func(string) string
	Logger *slog.Logger
	// Metrics receives switchboard_webhook_rejected_total and
	// switchboard_status_updates_total; nil registers nowhere.
	Metrics prometheus.Registerer
}

// Handler serves POST /v1/backends/{backend}/updates: it authenticates the
// backend's signature, checks the replay window, and applies each update on
// its own. Answers: 200 with a result per update; 400 for a malformed body
// (naming the field); 401 for a missing or wrong signature or timestamp, or a
// backend with no secret configured; 404 for an unknown backend; 503 when the
// store failed (a retry is safe: applied updates come back as duplicates).
type Handler struct {
	c       HandlerConfig
	log     *slog.Logger
	metrics *metrics
}

// NewHandler returns the webhook handler.
func NewHandler(c HandlerConfig) *Handler {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{c: c, log: c.Logger, metrics: newMetrics(c.Metrics)}
}

// Result is the outcome of one update.
type Result struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Response is the body of a 200 answer.
type Response struct {
	Results []Result `json:"results"`
}

// backendID returns the {backend} of the path.
func backendID(r *http.Request) string {
	if id := r.PathValue("backend"); id != "" {
		return id
	}
	rest, _ := strings.CutPrefix(r.URL.Path, "/v1/backends/")
	id, _ := strings.CutSuffix(rest, "/updates")
	return id
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		restjson.Error(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed on "+r.URL.Path, nil)
		return
	}
	id := backendID(r)
	b, ok := lookup(h.c.Routes(), id)
	if !ok || id == "" {
		h.log.WarnContext(ctx, "webhook for an unknown backend", "backend", clip(id, 64), "remote", r.RemoteAddr)
		restjson.Error(w, http.StatusNotFound, "NOT_FOUND", "no such backend", nil)
		return
	}
	// Authenticate before reading the body into anything but bytes.
	sec, where := secret(b, h.c.Getenv)
	if sec == "" {
		h.reject(ctx, w, r, b.ID, "no_secret", "this backend has no webhook secret configured ("+KeyWebhookSecret+" or "+KeyWebhookSecretEnv+"); its webhooks are refused",
			"where", where)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			restjson.Error(w, http.StatusBadRequest, "INVALID_ARGUMENT", "request body must be at most 1048576 bytes", []restjson.FieldViolation{{Field: "body", Description: "too large"}})
			return
		}
		restjson.Error(w, http.StatusBadRequest, "INVALID_ARGUMENT", "reading request body failed", []restjson.FieldViolation{{Field: "body", Description: "unreadable"}})
		return
	}
	tsHeader := r.Header.Get(HeaderTimestamp)
	if tsHeader == "" {
		h.reject(ctx, w, r, b.ID, "missing_timestamp", "missing "+HeaderTimestamp+" header")
		return
	}
	ts, err := ParseTimestamp(tsHeader)
	if err != nil {
		h.reject(ctx, w, r, b.ID, "bad_timestamp", HeaderTimestamp+": "+err.Error())
		return
	}
	if skew := h.c.Now().Sub(ts); skew > h.c.Window || skew < -h.c.Window {
		h.reject(ctx, w, r, b.ID, "stale_timestamp", HeaderTimestamp+" is outside the replay window of "+h.c.Window.String(),
			"skew", skew.Round(time.Second).String())
		return
	}
	sigHeader := r.Header.Get(HeaderSignature)
	if sigHeader == "" {
		h.reject(ctx, w, r, b.ID, "missing_signature", "missing "+HeaderSignature+" header")
		return
	}
	sigs, err := ParseSignature(sigHeader)
	if err != nil {
		h.reject(ctx, w, r, b.ID, "bad_signature", HeaderSignature+": "+err.Error())
		return
	}
	if !verify(sec, tsHeader, body, sigs) {
		h.reject(ctx, w, r, b.ID, "bad_signature", "signature does not match")
		return
	}

	updates, err := ParseBody(body)
	if err != nil {
		var e *errs.Error
		errors.As(err, &e)
		fields := make([]restjson.FieldViolation, len(e.Fields))
		for i, f := range e.Fields {
			fields[i] = restjson.FieldViolation{Field: f.Field, Description: f.Description}
		}
		msg := "invalid request body"
		if len(fields) > 0 {
			msg += ": " + fields[0].Field + ": " + fields[0].Description
		}
		h.log.WarnContext(ctx, "webhook body refused", "backend", b.ID, "remote", r.RemoteAddr, "err", err)
		restjson.Error(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, fields)
		return
	}

	resp := Response{Results: make([]Result, len(updates))}
	for i, u := range updates {
		res := Result{ID: u.ID}
		err := h.c.Apply.ApplyUpdate(ctx, b, u)
		res.Status, res.Error = outcome(err)
		h.metrics.updates.WithLabelValues(b.ID, "webhook", statusLabel(res.Status)).Inc()
		if res.Status == "" {
			// The store failed: ask the backend to send again; what was
			// applied comes back as duplicate.
			h.log.ErrorContext(ctx, "applying a status update failed", "backend", b.ID, "update", u.ID, "err", err)
			restjson.Error(w, http.StatusServiceUnavailable, "UNAVAILABLE", "status updates could not be stored now; send them again (those already applied are reported as duplicate)", nil)
			return
		}
		if res.Status == Rejected {
			h.log.InfoContext(ctx, "status update rejected", "backend", b.ID, "update", u.ID, "action", u.Action, "err", err)
		}
		resp.Results[i] = res
	}
	restjson.Write(w, http.StatusOK, resp)
}

// outcome classifies the result of applying one update; "" means a failure
// of ours (the store), for the whole request to be retried.
func outcome(err error) (status, msg string) {
	if err == nil {
		return Applied, ""
	}
	if errors.Is(err, store.ErrDuplicateUpdate) {
		return Duplicate, ""
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", ""
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		return "", ""
	}
	switch e.Kind {
	case errs.Other, errs.Transient, errs.RetryAfter:
		return "", ""
	case errs.Conflict:
		if errors.Is(err, store.ErrVersionConflict) {
			return "", ""
		}
	}
	// The error's own words, without causes.
	return Rejected, (&errs.Error{Kind: e.Kind, Msg: e.Msg, Fields: e.Fields}).Error()
}

func statusLabel(status string) string {
	if status == "" {
		return "error"
	}
	return status
}

// reject answers 401, logs and counts why.
func (h *Handler) reject(ctx context.Context, w http.ResponseWriter, r *http.Request, backend, reason, msg string, args ...any) {
	h.metrics.rejected.WithLabelValues(backend, reason).Inc()
	h.log.WarnContext(ctx, "webhook rejected", append([]any{"backend", backend, "remote", r.RemoteAddr, "reason", reason}, args...)...)
	restjson.Error(w, http.StatusUnauthorized, "UNAUTHENTICATED", msg, nil)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
