package legacysim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds the body of a delivery read over HTTP.
const maxBody = 1 << 20

// serveHTTP answers one request to an HTTP backend; sub is the path below
// the backend's endpoint ("/requests.json" for Open311, usually "/" or "").
func (b *Backend) serveHTTP(w http.ResponseWriter, r *http.Request, sub string) {
	s := b.sim
	f, _ := b.state()
	if s.down(f) {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	// Read the whole body first: only then does net/http notice a client
	// that hangs up, which ends a hanging request.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
		return
	}
	s.wait(f.Latency, r.Context().Done())
	if failing(f) {
		http.Error(w, "simulated failure", http.StatusServiceUnavailable)
		return
	}
	if b.Kind == "open311" && r.Method == http.MethodGet {
		b.open311Get(w, r, sub)
		return
	}
	key, o := arrivalKey(b.Kind, r, body)
	if key == "" {
		http.Error(w, "no idempotency key", http.StatusBadRequest)
		return
	}
	ext := b.record(key, body, o)
	s.wait(f.SlowAccept, r.Context().Done())
	switch b.Kind {
	case "rest":
		writeJSON(w, map[string]string{"id": ext})
	case "open311":
		writeJSON(w, []map[string]string{{"service_request_id": ext}})
	case "soap":
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ReceiveWorkOrderResponse><code>0</code><caseNo>%s</caseNo></ReceiveWorkOrderResponse></soap:Body></soap:Envelope>`, ext)
	}
}

// open311Get answers GeoReport reads: services.json (one service) and
// requests.json (the requests the department has acted on, filtered by
// updated_after), as the open311 adapter's Health and Updates read them.
func (b *Backend) open311Get(w http.ResponseWriter, r *http.Request, sub string) {
	switch {
	case strings.HasSuffix(sub, "/services.json"):
		writeJSON(w, []map[string]any{{
			"service_code": "general", "service_name": "城市管理综合事项", "description": "市容环境、占道经营、违法建设等",
			"metadata": false, "type": "realtime", "keywords": "城管,市容", "group": "城市管理",
		}})
	case strings.HasSuffix(sub, "/requests.json"):
		var after time.Time
		if v := r.URL.Query().Get("updated_after"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				writeJSON(w, []map[string]any{{"code": 400, "description": "updated_after 不是 RFC 3339 时间"}})
				return
			}
			after = t
		}
		writeJSON(w, b.open311Requests(after))
	default:
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, []map[string]any{{"code": 404, "description": "没有该资源"}})
	}
}

// open311Requests lists the requests acted on after after: signed or with
// an extension requested as open, replied or returned as closed.
func (b *Backend) open311Requests(after time.Time) []map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []map[string]string{}
	for _, e := range b.ledger {
		var status string
		switch e.Status {
		case "signed", "extensionRequested":
			status = "open"
		case "replied", "returned":
			status = "closed"
		default:
			continue
		}
		if !e.Updated.After(after) {
			continue
		}
		out = append(out, map[string]string{
			"service_request_id": e.ExternalID, "status": status, "status_notes": e.Notes,
			"service_code": "general", "requested_datetime": e.First.UTC().Format(time.RFC3339Nano),
			"updated_datetime": e.Updated.UTC().Format(time.RFC3339Nano),
		})
	}
	return out
}

// arrivalKey finds the idempotency key where each kind's adapter puts it,
// and what the payload says about the work order.
func arrivalKey(kind string, r *http.Request, body []byte) (string, order) {
	switch kind {
	case "open311":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", order{}
		}
		return form.Get("attribute[switchboard_key]"), order{}
	case "soap":
		return r.Header.Get("X-Idempotency-Key"), soapOrder(body)
	}
	return r.Header.Get("Idempotency-Key"), jsonOrder(body)
}

// jsonOrder reads the topic and the ticket's id of a JSON message as the
// rest and amqp adapters send it.
func jsonOrder(body []byte) order {
	var m struct {
		Topic  string `json:"topic"`
		Ticket struct {
			ID string `json:"id"`
		} `json:"ticket"`
	}
	if json.Unmarshal(body, &m) != nil {
		return order{}
	}
	return order{topic: m.Topic, ticketID: m.Ticket.ID}
}

// soapOrder reads the topic of a SOAP envelope in the default template
// (<czlx>); the template carries no ticket id.
func soapOrder(body []byte) order {
	dec := xml.NewDecoder(bytes.NewReader(body))
	in := false
	for range 10000 {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			in = t.Name.Local == "czlx"
		case xml.CharData:
			if in {
				return order{topic: strings.TrimSpace(string(t))}
			}
		case xml.EndElement:
			in = false
		}
	}
	return order{}
}
