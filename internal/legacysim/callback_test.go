package legacysim_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
	"github.com/switchboard12345/switchboard/adapters/open311"
	"github.com/switchboard12345/switchboard/adapters/rest"
	"github.com/switchboard12345/switchboard/internal/legacysim"
)

// gateway is a test server standing in for the gateway's callback endpoint:
// it checks the contract (path, headers, HMAC) independently of package
// legacysim and keeps the updates; the first failFirst calls get a 503.
type gateway struct {
	t         *testing.T
	secret    string
	failFirst int

	mu    sync.Mutex
	calls int
	got   []legacysim.Update
	more  chan struct{}
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Switchboard-Timestamp")
	m := hmac.New(sha256.New, []byte(g.secret))
	m.Write([]byte(ts + "." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/backends/gz-samr-rest/updates":
		g.t.Errorf("callback %s %s", r.Method, r.URL.Path)
	case r.Header.Get("Content-Type") != "application/json":
		g.t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	case r.Header.Get("X-Switchboard-Signature") != want:
		g.t.Errorf("signature %q, want %q", r.Header.Get("X-Switchboard-Signature"), want)
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		g.t.Errorf("timestamp %q is not Unix seconds", ts)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if g.calls <= g.failFirst {
		http.Error(w, "稍后再试", http.StatusServiceUnavailable)
		return
	}
	var u legacysim.Updates
	if err := json.Unmarshal(body, &u); err != nil {
		g.t.Errorf("body %s: %v", body, err)
	}
	g.got = append(g.got, u.Updates...)
	g.more <- struct{}{}
}

// TestCallbacks has a simulated department sign, ask for an extension and
// reply to a work order delivered by adapters/rest, and checks the signed
// callbacks the gateway receives (the first one after a refused try).
func TestCallbacks(t *testing.T) {
	t.Parallel()
	g := &gateway{t: t, secret: "demo-secret", failFirst: 1, more: make(chan struct{}, 10)}
	gw := httptest.NewServer(g)
	defer gw.Close()
	sim, err := legacysim.NewWith(map[string]string{"gz-samr-rest": "rest"}, legacysim.Options{
		Callback: legacysim.Callback{URL: gw.URL, Secret: "demo-secret", Backoff: time.Millisecond},
		Actions: legacysim.Actions{
			AutoSign: true, SignAfter: legacysim.Duration(time.Millisecond),
			ExtensionDays: 3, AutoReplyAfter: legacysim.Duration(5 * time.Millisecond),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	a, err := rest.New(adapters.Config{Backend: "gz-samr-rest", Endpoints: []string{srv.URL + "/b/gz-samr-rest"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := deliver(t, a, "cb-1", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case <-g.more:
		case <-time.After(30 * time.Second):
			t.Fatalf("callbacks so far: %+v", g.got)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	wantActions := []string{"sign", "requestExtension", "reply"}
	for i, u := range g.got {
		if u.Action != wantActions[i] || u.ExternalID != r.ExternalID || u.TicketID != adaptertest.Sample("").Ticket.ID || u.Text == "" {
			t.Errorf("update %d = %+v", i, u)
		}
		if u.ID != "gz-samr-rest-"+r.ExternalID+"-"+u.Action {
			t.Errorf("update id %q", u.ID)
		}
		if _, err := time.Parse(time.RFC3339, u.Time); err != nil {
			t.Errorf("time %q: %v", u.Time, err)
		}
	}
	if g.got[1].Days != 3 || g.got[1].Text != "需现场核查并协调相关单位，申请延期3个工作日。" {
		t.Errorf("extension = %+v", g.got[1])
	}
	if e := sim.Backend("gz-samr-rest").Ledger()["cb-1"]; e.Status != "replied" {
		t.Errorf("ledger status %q, want replied", e.Status)
	}
}

// TestSign pins the signature scheme: v1= and the hex HMAC-SHA256 of
// timestamp + "." + body.
func TestSign(t *testing.T) {
	t.Parallel()
	body := []byte(`{"updates":[{"id":"u1","action":"sign","text":"已签收"}]}`)
	m := hmac.New(sha256.New, []byte("demo-secret"))
	m.Write([]byte("1795000000." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	if got := legacysim.Sign("demo-secret", "1795000000", body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !legacysim.Verify("demo-secret", "1795000000", body, want) || legacysim.Verify("other", "1795000000", body, want) {
		t.Fatal("Verify disagrees with Sign")
	}
}

// TestActionsJSON reads durations as strings, as the admin API and the
// --actions flag take them.
func TestActionsJSON(t *testing.T) {
	t.Parallel()
	var a legacysim.Actions
	if err := json.Unmarshal([]byte(`{"autoSign":true,"autoReplyAfter":"2s"}`), &a); err != nil {
		t.Fatal(err)
	}
	if !a.AutoSign || time.Duration(a.AutoReplyAfter) != 2*time.Second {
		t.Fatalf("%+v", a)
	}
	if err := json.Unmarshal([]byte(`{"autoReplyAfter":"两秒"}`), &a); err == nil {
		t.Fatal("a bad duration was accepted")
	}
}

// TestOpen311UpdatesFollowActions polls a simulated Open311 department with
// adapters/open311: a signed request is listed open, a replied one closed
// with the department's notes.
func TestOpen311UpdatesFollowActions(t *testing.T) {
	t.Parallel()
	sim, err := legacysim.NewWith(map[string]string{"gz-urban-open311": "open311"}, legacysim.Options{
		Actions: legacysim.Actions{AutoSign: true, SignAfter: legacysim.Duration(time.Millisecond), AutoReplyAfter: legacysim.Duration(2 * time.Millisecond)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	a, err := open311.New(adapters.Config{Backend: "gz-urban-open311", Endpoints: []string{srv.URL + "/b/gz-urban-open311"},
		Settings: map[string]string{"serviceCodeMap": "default=general", "jurisdictionId": "gz.example.gov.cn"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := deliver(t, a, "o-1", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ups []adapters.Update
	eventually(t, "a reply listed", func() bool {
		ups, _, err = a.Updates(context.Background(), "")
		return err == nil && len(ups) == 1 && ups[0].Action == "reply"
	})
	if ups[0].ExternalID != r.ExternalID || !strings.Contains(ups[0].Text, "已办结") {
		t.Fatalf("updates = %+v", ups)
	}
	_, next, _ := a.Updates(context.Background(), "")
	if more, _, err := a.Updates(context.Background(), next); err != nil || len(more) != 0 {
		t.Fatalf("after the cursor: %+v %v", more, err)
	}
}
