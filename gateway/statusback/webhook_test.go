package statusback_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/server"
	"github.com/switchboard12345/switchboard/gateway/statusback"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/testauth"
)

const replyText = "已办结：经核实，该健身房已由区市场监管局立案调查，预付卡余额按比例退还，并已电话告知市民。"

func TestWebhookSignThenReply(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", nil)
	tk := f.complaint(t)

	sign := body(t, map[string]any{"id": "u-1", "ticketId": tk.GetId(), "action": "sign", "text": "已签收，正在办理。", "time": "2026-11-27T10:05:00+08:00"})
	a := f.post(t, webhook{backend: "gz-samr-rest", body: sign, secret: samrSecret})
	if a.code != http.StatusOK || len(a.resp.Results) != 1 || a.resp.Results[0] != (statusback.Result{ID: "u-1", Status: statusback.Applied}) {
		t.Fatalf("sign: %d %s", a.code, a.raw)
	}
	if got := f.ticket(t, tk.GetId()); got.State != ticket.Signed {
		t.Fatalf("after sign: state %s, want SIGNED", got.State)
	}

	// The reply names the ticket by its tracking number.
	reply := body(t, map[string]any{"id": "u-2", "ticketId": tk.GetTrackingNumber(), "action": "reply", "text": replyText})
	a = f.post(t, webhook{backend: "gz-samr-rest", body: reply, secret: samrSecret})
	if a.code != http.StatusOK || a.resp.Results[0].Status != statusback.Applied {
		t.Fatalf("reply: %d %s", a.code, a.raw)
	}
	got := f.ticket(t, tk.GetId())
	if got.State != ticket.Replied || got.Reply != replyText {
		t.Fatalf("after reply: state %s reply %q", got.State, got.Reply)
	}
	evs := f.events(t, tk.GetId())
	last2 := evs[len(evs)-2:]
	for i, want := range []struct{ action, key string }{{"sign", "gz-samr-rest/u-1"}, {"reply", "gz-samr-rest/u-2"}} {
		e := last2[i]
		if e.Action != want.action || e.Actor != "backend:gz-samr-rest" || e.Details["statusUpdate"] != want.key {
			t.Errorf("event %d: %s by %s details %v, want %s by backend:gz-samr-rest with %s", i, e.Action, e.Actor, e.Details, want.action, want.key)
		}
	}
	if bt := last2[0].Details["backendTime"]; bt != "2026-11-27T02:05:00Z" {
		t.Errorf("sign event backendTime %q", bt)
	}

	// The department's system sends the sign again (its retry): the same
	// request, byte for byte, is a duplicate and changes nothing.
	a = f.post(t, webhook{backend: "gz-samr-rest", body: sign, secret: samrSecret})
	if a.code != http.StatusOK || a.resp.Results[0].Status != statusback.Duplicate {
		t.Fatalf("replayed sign: %d %s, want duplicate", a.code, a.raw)
	}
	a = f.post(t, webhook{backend: "gz-samr-rest", body: reply, secret: samrSecret})
	if a.code != http.StatusOK || a.resp.Results[0].Status != statusback.Duplicate {
		t.Fatalf("replayed reply: %d %s, want duplicate", a.code, a.raw)
	}
	if n := len(f.events(t, tk.GetId())); n != len(evs) {
		t.Fatalf("replays wrote %d events", n-len(evs))
	}
	if v := f.ticket(t, tk.GetId()).Version; v != got.Version {
		t.Fatalf("replays moved the version from %d to %d", got.Version, v)
	}

	// A sign under a new update id is a lifecycle refusal, with the reason.
	a = f.post(t, webhook{backend: "gz-samr-rest", body: body(t, map[string]any{"id": "u-3", "ticketId": tk.GetId(), "action": "sign"}), secret: samrSecret})
	if r := a.resp.Results[0]; a.code != http.StatusOK || r.Status != statusback.Rejected || !strings.Contains(r.Error, "not allowed in state REPLIED") {
		t.Fatalf("second sign: %d %s, want rejected: not allowed in state REPLIED", a.code, a.raw)
	}
}

func TestWebhookEachUpdateOnItsOwn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", nil)
	a1, a2 := f.complaint(t), f.complaint(t)
	b := body(t,
		map[string]any{"id": "x-1", "ticketId": a1.GetId(), "action": "sign"},
		map[string]any{"id": "x-2", "ticketId": a1.GetId(), "action": "requestExtension", "days": 3, "text": "需现场核查并协调相关单位，申请延期3个工作日。"},
		map[string]any{"id": "x-3", "ticketId": a2.GetId(), "action": "reply", "text": replyText}, // not signed: refused
		map[string]any{"id": "x-4", "ticketId": a2.GetId(), "action": "return", "text": "经核实，该事项不属于本单位职责范围，请重新派单。"},
		map[string]any{"id": "x-1", "ticketId": a1.GetId(), "action": "sign"}, // repeated within the batch
	)
	a := f.post(t, webhook{backend: "gz-samr-rest", body: b, secret: samrSecret})
	want := []string{statusback.Applied, statusback.Applied, statusback.Rejected, statusback.Applied, statusback.Duplicate}
	if a.code != http.StatusOK || len(a.resp.Results) != len(want) {
		t.Fatalf("%d %s", a.code, a.raw)
	}
	for i, r := range a.resp.Results {
		if r.Status != want[i] {
			t.Errorf("result %d (%s): %s %q, want %s", i, r.ID, r.Status, r.Error, want[i])
		}
	}
	if got := f.ticket(t, a1.GetId()); got.State != ticket.ExtensionRequested || got.ExtensionDaysRequested != 3 {
		t.Errorf("ticket 1: %s, %d days requested", got.State, got.ExtensionDaysRequested)
	}
	got := f.ticket(t, a2.GetId())
	if got.State != ticket.Returned || got.HandlingUnit != "" {
		t.Errorf("ticket 2: %s at %q, want RETURNED without a unit", got.State, got.HandlingUnit)
	}
	// The return again: the ticket is no longer gz-samr's, but the update is
	// recognised as the one applied before.
	a = f.post(t, webhook{backend: "gz-samr-rest", body: b, secret: samrSecret})
	want = []string{statusback.Duplicate, statusback.Duplicate, statusback.Rejected, statusback.Duplicate, statusback.Duplicate}
	for i, r := range a.resp.Results {
		if r.Status != want[i] {
			t.Errorf("replay result %d (%s): %s %q, want %s", i, r.ID, r.Status, r.Error, want[i])
		}
	}
}

func TestWebhookAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", nil)
	tk := f.complaint(t)
	sign := body(t, map[string]any{"id": "a-1", "ticketId": tk.GetId(), "action": "sign"})
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	good := statusback.Sign(samrSecret, ts(0), []byte(sign))
	for _, tc := range []struct {
		name    string
		w       webhook
		reason  string // the metric's label
		message string
	}{
		{"wrong secret", webhook{secret: "猜的密钥"}, "bad_signature", "signature does not match"},
		{"missing signature", webhook{secret: samrSecret, noSig: true}, "missing_signature", "missing X-Switchboard-Signature"},
		{"missing timestamp", webhook{secret: samrSecret, noTS: true}, "missing_timestamp", "missing X-Switchboard-Timestamp"},
		{"timestamp not a number", webhook{secret: samrSecret, timestamp: "2026-11-27T10:00:00Z"}, "bad_timestamp", "not Unix seconds"},
		{"stale by 6 minutes", webhook{secret: samrSecret, timestamp: ts(-6 * time.Minute)}, "stale_timestamp", "replay window"},
		{"6 minutes in the future", webhook{secret: samrSecret, timestamp: ts(6 * time.Minute)}, "stale_timestamp", "replay window"},
		{"signature of another timestamp", webhook{timestamp: ts(time.Minute), signature: good}, "bad_signature", "does not match"},
		{"signature not hex", webhook{signature: "v1=zz" + strings.Repeat("0", 62)}, "bad_signature", "64 hex digits"},
		{"other scheme only", webhook{signature: "v0=" + good[3:]}, "bad_signature", "no v1= signature"},
		{"uppercase scheme", webhook{signature: "V1=" + good[3:]}, "bad_signature", "no v1= signature"},
		{"body changed after signing", webhook{signature: good, body: strings.Replace(sign, "sign", "reply", 1)}, "bad_signature", "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w
			w.backend = "gz-samr-rest"
			if w.body == "" {
				w.body = sign
			}
			before := f.counter("switchboard_webhook_rejected_total", "gz-samr-rest", tc.reason)
			a := f.post(t, w)
			if a.code != http.StatusUnauthorized || a.err.Error.Status != "UNAUTHENTICATED" || a.err.Error.Code != 401 || !strings.Contains(a.err.Error.Message, tc.message) {
				t.Fatalf("%d %s, want 401 UNAUTHENTICATED saying %q", a.code, a.raw, tc.message)
			}
			if after := f.counter("switchboard_webhook_rejected_total", "gz-samr-rest", tc.reason); after != before+1 {
				t.Errorf("switchboard_webhook_rejected_total{reason=%q} went from %v to %v", tc.reason, before, after)
			}
			if got := f.ticket(t, tk.GetId()); got.State != ticket.Dispatched || got.Version != tk.GetVersion() {
				t.Fatalf("a refused webhook changed the ticket: %s v%d", got.State, got.Version)
			}
		})
	}

	t.Run("4m59s old is inside the window", func(t *testing.T) {
		b := body(t, map[string]any{"id": "a-old", "ticketId": tk.GetId(), "action": "sign"})
		a := f.post(t, webhook{backend: "gz-samr-rest", body: b, secret: samrSecret, timestamp: ts(-4*time.Minute - 59*time.Second)})
		if a.code != http.StatusOK || a.resp.Results[0].Status != statusback.Applied {
			t.Fatalf("%d %s", a.code, a.raw)
		}
	})
	t.Run("rotation: one of several v1 values matches", func(t *testing.T) {
		b := body(t, map[string]any{"id": "a-rot", "ticketId": tk.GetId(), "action": "reply", "text": replyText})
		sig := statusback.Sign("旧密钥", ts(0), []byte(b)) + ", " + statusback.Sign(samrSecret, ts(0), []byte(b))
		a := f.post(t, webhook{backend: "gz-samr-rest", body: b, signature: sig})
		if a.code != http.StatusOK || a.resp.Results[0].Status != statusback.Applied {
			t.Fatalf("%d %s", a.code, a.raw)
		}
	})
	t.Run("secret from the environment", func(t *testing.T) {
		b := body(t, map[string]any{"id": "t-1", "ticketId": tk.GetId(), "action": "sign"})
		a := f.post(t, webhook{backend: "gd-tax-soap", body: b, secret: taxSecret})
		// Authenticated, but not gd-tax's ticket.
		if a.code != http.StatusOK || a.resp.Results[0].Status != statusback.Rejected {
			t.Fatalf("%d %s", a.code, a.raw)
		}
	})
	t.Run("backend without a secret", func(t *testing.T) {
		a := f.post(t, webhook{backend: "gz-planning-rest", body: sign, secret: ""})
		if a.code != http.StatusUnauthorized || !strings.Contains(a.err.Error.Message, "no webhook secret configured") {
			t.Fatalf("%d %s", a.code, a.raw)
		}
		if n := f.counter("switchboard_webhook_rejected_total", "gz-planning-rest", "no_secret"); n != 1 {
			t.Errorf("no_secret counted %v times", n)
		}
	})
	t.Run("unknown backend", func(t *testing.T) {
		a := f.post(t, webhook{backend: "no-such-backend", body: sign, secret: samrSecret})
		if a.code != http.StatusNotFound || a.err.Error.Status != "NOT_FOUND" {
			t.Fatalf("%d %s", a.code, a.raw)
		}
	})
}

func TestWebhookMalformedBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", nil)
	tk := f.complaint(t)
	id := tk.GetId()
	for _, tc := range []struct {
		name, body, field string
	}{
		{"not JSON", `{"updates":[`, "body"},
		{"no updates", `{}`, "updates"},
		{"empty updates", `{"updates":[]}`, "updates"},
		{"updates not a list", `{"updates":{"id":"1"}}`, "updates"},
		{"unknown action in the third", `{"updates":[{"id":"1","ticketId":"` + id + `","action":"sign"},{"id":"2","ticketId":"` + id + `","action":"reply","text":"好"},{"id":"3","ticketId":"` + id + `","action":"close"}]}`, "updates[2].action"},
		{"no id", `{"updates":[{"ticketId":"` + id + `","action":"sign"}]}`, "updates[0].id"},
		{"no ticket", `{"updates":[{"id":"1","action":"sign"}]}`, "updates[0].ticketId"},
		{"days as text", `{"updates":[{"id":"1","ticketId":"` + id + `","action":"requestExtension","days":"三"}]}`, "updates[0].days"},
		{"extension without days", `{"updates":[{"id":"1","ticketId":"` + id + `","action":"requestExtension","text":"申请延期"}]}`, "updates[0].days"},
		{"return without a reason", `{"updates":[{"id":"1","ticketId":"` + id + `","action":"return"}]}`, "updates[0].text"},
		{"bad time", `{"updates":[{"id":"1","ticketId":"` + id + `","action":"sign","time":"2026年11月27日"}]}`, "updates[0].time"},
		{"null update", `{"updates":[null]}`, "updates[0]"},
		{"invalid UTF-8", "{\"updates\":[{\"id\":\"1\",\"ticketId\":\"" + id + "\",\"action\":\"reply\",\"text\":\"\xff\xfe\"}]}", "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.post(t, webhook{backend: "gz-samr-rest", body: tc.body, secret: samrSecret})
			if a.code != http.StatusBadRequest || a.err.Error.Status != "INVALID_ARGUMENT" || len(a.err.Error.FieldViolations) == 0 {
				t.Fatalf("%d %s, want 400 naming %s", a.code, a.raw, tc.field)
			}
			if got := a.err.Error.FieldViolations[0].Field; got != tc.field {
				t.Fatalf("field %q, want %q (%s)", got, tc.field, a.raw)
			}
		})
	}
	if got := f.ticket(t, id); got.Version != tk.GetVersion() {
		t.Fatalf("malformed bodies changed the ticket to v%d", got.Version)
	}
	t.Run("body over 1 MiB", func(t *testing.T) {
		big := `{"updates":[{"id":"1","ticketId":"` + id + `","action":"reply","text":"` + strings.Repeat("长", 400_000) + `"}]}`
		a := f.post(t, webhook{backend: "gz-samr-rest", body: big, secret: samrSecret})
		if a.code != http.StatusBadRequest || a.err.Error.FieldViolations[0].Field != "body" {
			t.Fatalf("%d %.300s", a.code, a.raw)
		}
	})
}

func TestWebhookOtherUnitsTicket(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", nil)
	tk := f.complaint(t) // gz-samr's
	sign := func(ref string) statusback.Result {
		a := f.post(t, webhook{backend: "gd-tax-soap", secret: taxSecret,
			body: body(t, map[string]any{"id": "t-" + ref, "ticketId": ref, "action": "sign"})})
		if a.code != http.StatusOK {
			t.Fatalf("%d %s", a.code, a.raw)
		}
		return a.resp.Results[0]
	}
	other := sign(tk.GetId())
	missing := sign("20261127000000099")
	if other.Status != statusback.Rejected || !strings.Contains(other.Error, "not found") {
		t.Fatalf("gd-tax signing gz-samr's ticket: %+v, want rejected as not found", other)
	}
	if other.Error != missing.Error {
		t.Errorf("another unit's ticket answers %q, a missing one %q: the answer tells them apart", other.Error, missing.Error)
	}
	if strings.Contains(other.Error, tk.GetId()) || strings.Contains(other.Error, "gz-samr") {
		t.Errorf("the refusal leaks the ticket: %q", other.Error)
	}
	if got := f.ticket(t, tk.GetId()); got.State != ticket.Dispatched || got.Version != tk.GetVersion() {
		t.Fatalf("another unit's backend changed the ticket: %s v%d", got.State, got.Version)
	}
}

func TestWebhookExternalID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", nil)
	tk := f.complaint(t)
	f.deliverAll(t, "SAMR-2026-0042") // gz-samr-market answered with its case number
	b := body(t,
		map[string]any{"id": "SAMR-2026-0042-sign", "externalId": "SAMR-2026-0042", "action": "sign", "text": "已签收"},
		map[string]any{"id": "SAMR-2026-0043-sign", "externalId": "SAMR-2026-0043", "action": "sign"},
	)
	a := f.post(t, webhook{backend: "gz-samr-market", body: b, secret: samrSecret})
	if a.code != http.StatusOK || a.resp.Results[0].Status != statusback.Applied || a.resp.Results[1].Status != statusback.Rejected {
		t.Fatalf("%d %s, want the known case number applied and the unknown one rejected", a.code, a.raw)
	}
	if got := f.ticket(t, tk.GetId()); got.State != ticket.Signed {
		t.Fatalf("state %s, want SIGNED", got.State)
	}
	// Another backend of the same unit does not know gz-samr-market's numbers.
	a = f.post(t, webhook{backend: "gz-samr-rest", secret: samrSecret,
		body: body(t, map[string]any{"id": "r-1", "externalId": "SAMR-2026-0042", "action": "reply", "text": replyText})})
	if a.code != http.StatusOK || a.resp.Results[0].Status != statusback.Rejected {
		t.Fatalf("%d %s", a.code, a.raw)
	}
}

// TestWebhookThroughTheServer posts over loopback to the gateway's HTTP
// server, the way serve wires the handler.
func TestWebhookThroughTheServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", nil)
	tk := f.complaint(t)
	ta := testauth.New(t, f.store, f.store, f.live.Snapshot)
	srv, err := server.New(server.Options{
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Tickets: f.svc, Store: f.store,
		Handlers: map[string]http.Handler{statusback.Pattern: f.handler},
		Guard:    ta.Guard.Unary,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr, _, err := srv.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, map[string]any{"id": "http-1", "ticketId": tk.GetId(), "action": "sign", "text": "已签收"})
	ts := strconv.FormatInt(now.Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/backends/gz-samr-rest/updates", strings.NewReader(b))
	req.Header.Set(statusback.HeaderTimestamp, ts)
	req.Header.Set(statusback.HeaderSignature, statusback.Sign(samrSecret, ts, []byte(b)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out statusback.Response
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(out.Results) != 1 || out.Results[0].Status != statusback.Applied || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("%d %+v", resp.StatusCode, out)
	}
	// Other methods on the path are not the REST API's either, even with a
	// token the API would accept.
	resp, err = testauth.Client(ta.Token).Get("http://" + addr + "/v1/backends/gz-samr-rest/updates")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("GET answered 200")
	}
}
