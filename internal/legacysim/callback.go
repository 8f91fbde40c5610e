package legacysim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Actions say what a simulated department does with a work order it has
// accepted: each action changes the ledger entry's status and, when a
// Callback is configured, is reported to the gateway. In JSON durations are
// strings such as "2s" (or numbers of nanoseconds):
//
//	{"autoSign":true,"signAfter":"1s","autoReplyAfter":"5s","extensionDays":3,"returnRate":0.1}
type Actions struct {
	// AutoSign signs every accepted work order (action sign).
	AutoSign bool `json:"autoSign,omitempty"`
	// SignAfter is the wait between acceptance and signing (or returning);
	// default 1s, which leaves the gateway time to store the case number.
	SignAfter Duration `json:"signAfter,omitempty"`
	// ReturnRate is the share of work orders returned (action return)
	// instead of signed, 0 to 1.
	ReturnRate float64 `json:"returnRate,omitempty"`
	// ExtensionDays, when positive, requests an extension of that many
	// days after signing (action requestExtension).
	ExtensionDays int `json:"extensionDays,omitempty"`
	// AutoReplyAfter, when positive, replies (action reply: the work order
	// is done) that long after acceptance.
	AutoReplyAfter Duration `json:"autoReplyAfter,omitempty"`
}

// DefaultSignAfter is the wait before signing when SignAfter is zero.
const DefaultSignAfter = time.Second

func (a Actions) any() bool {
	return a.AutoSign || a.ReturnRate > 0 || a.ExtensionDays > 0 || a.AutoReplyAfter > 0
}

// Duration is a time.Duration written in JSON as a string ("2s").
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 2s", s)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a duration such as \"2s\": %w", err)
	}
	*d = Duration(n)
	return nil
}

// Callback is the gateway's endpoint for status updates:
// POST {URL}/v1/backends/{backendID}/updates, signed with Secret.
type Callback struct {
	// URL is the gateway's base URL, e.g. http://127.0.0.1:8080; empty
	// turns callbacks off.
	URL string
	// Secret signs every callback (see Sign).
	Secret string
	// Client sends them; nil means a client with a 10s timeout.
	Client *http.Client
	// Attempts bounds the tries of one callback; 0 means 5.
	Attempts int
	// Backoff is the first wait between tries, doubling; 0 means 250ms.
	Backoff time.Duration
}

// Callback headers.
const (
	HeaderTimestamp = "X-Switchboard-Timestamp"
	HeaderSignature = "X-Switchboard-Signature"
)

// Update is one status change in a callback.
type Update struct {
	// ID is unique per work order and action: {backend}-{externalId}-{action}.
	ID string `json:"id"`
	// TicketID is the gateway's ticket id when the delivered payload had it
	// (rest, smtp, amqp), else empty: the gateway finds the ticket by
	// ExternalID.
	TicketID   string `json:"ticketId"`
	ExternalID string `json:"externalId"`
	// Action is sign, return, requestExtension or reply.
	Action string `json:"action"`
	Text   string `json:"text"`
	Days   int    `json:"days,omitempty"`
	// Time is RFC 3339.
	Time string `json:"time"`
}

// Updates is the body of a callback.
type Updates struct {
	Updates []Update `json:"updates"`
}

// Sign returns the X-Switchboard-Signature of a callback: "v1=" and the
// lowercase hex HMAC-SHA256, keyed with secret, of timestamp + "." + body.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the signature of timestamp and body.
func Verify(secret, timestamp string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(sig))
}

// Texts of the actions, as a department writes them.
const (
	textSign      = "已签收，正在办理。"
	textReturn    = "经核实，该事项不属于本单位职责范围，请重新派单。"
	textExtension = "需现场核查并协调相关单位，申请延期%d个工作日。"
	textReply     = "已办结：经核实已处理完毕，并已电话回复市民，市民表示认可。"
)

// schedule runs a's actions on the work order ext in the background.
func (s *Sim) schedule(b *Backend, ext, ticketID string, a Actions) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		start := s.now()
		signAfter := time.Duration(a.SignAfter)
		if signAfter <= 0 {
			signAfter = DefaultSignAfter
		}
		if !s.wait(signAfter, nil) {
			return
		}
		if a.ReturnRate > 0 && rand.Float64() < a.ReturnRate {
			s.act(b, ext, ticketID, "return", "returned", textReturn, 0)
			return
		}
		if a.AutoSign {
			s.act(b, ext, ticketID, "sign", "signed", textSign, 0)
		}
		if a.ExtensionDays > 0 {
			s.act(b, ext, ticketID, "requestExtension", "extensionRequested", fmt.Sprintf(textExtension, a.ExtensionDays), a.ExtensionDays)
		}
		if a.AutoReplyAfter > 0 {
			if !s.wait(time.Duration(a.AutoReplyAfter)-s.now().Sub(start), nil) {
				return
			}
			s.act(b, ext, ticketID, "reply", "replied", textReply, 0)
		}
	}()
}

// act records one action and reports it.
func (s *Sim) act(b *Backend, ext, ticketID, action, status, text string, days int) {
	now := s.now()
	b.setStatus(ext, status, text, now)
	s.log.Info("department acted", "backend", b.ID, "externalId", ext, "ticket", ticketID, "action", action)
	if s.opts.Callback.URL == "" {
		return
	}
	u := Update{
		ID: b.ID + "-" + ext + "-" + action, TicketID: ticketID, ExternalID: ext,
		Action: action, Text: text, Days: days, Time: now.Format(time.RFC3339),
	}
	ctx, cancel := s.context()
	defer cancel()
	if err := s.opts.Callback.post(ctx, b.ID, []Update{u}, s.now); err != nil {
		s.log.Warn("callback failed", "backend", b.ID, "externalId", ext, "action", action, "err", err)
	}
}

// post sends updates of backend to the gateway, retrying a failed try with
// doubling waits, at most Attempts tries. Each try is signed anew.
func (c Callback) post(ctx context.Context, backend string, ups []Update, now func() time.Time) error {
	body, err := json.Marshal(Updates{Updates: ups})
	if err != nil {
		return err
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	attempts, backoff := c.Attempts, c.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if backoff <= 0 {
		backoff = 250 * time.Millisecond
	}
	u := strings.TrimRight(c.URL, "/") + "/v1/backends/" + backend + "/updates"
	var last error
	for i := range attempts {
		if i > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return errors.Join(ctx.Err(), last)
			case <-t.C:
			}
			backoff = min(2*backoff, 10*time.Second)
		}
		if last = c.try(ctx, client, u, body, now()); last == nil {
			return nil
		}
	}
	return fmt.Errorf("%d tries: %w", attempts, last)
}

func (c Callback) try(ctx context.Context, client *http.Client, u string, body []byte, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(c.Secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: HTTP %d: %s", u, resp.StatusCode, strings.TrimSpace(string(text)))
	}
	return nil
}

// context returns a context that ends when the Sim closes (or cancel is
// called).
func (s *Sim) context() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
