package statusback_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/gateway/statusback"
	"github.com/switchboard12345/switchboard/internal/errs"
)

func FuzzWebhookBody(f *testing.F) {
	for _, s := range []string{
		`{"updates":[{"id":"u-1","ticketId":"T1","action":"sign","text":"已签收","time":"2026-11-27T10:05:00+08:00"}]}`,
		`{"updates":[{"id":"u-2","externalId":"SAMR-1","action":"requestExtension","days":3,"text":"申请延期3个工作日"}]}`,
		`{"updates":[{"id":"u-3","ticketId":"T1","action":"return"},null,{"id":1}]}`,
		`{"updates":{}}`, `[]`, `null`, `{"updates":[{"days":1e400}]}`, "{\"updates\":[{\"text\":\"\xff\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ups, err := statusback.ParseBody(body)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("error of kind %s: %v", errs.KindOf(err), err)
			}
			return
		}
		if len(ups) == 0 || len(ups) > statusback.MaxUpdates {
			t.Fatalf("%d updates accepted", len(ups))
		}
		for _, u := range ups {
			switch {
			case u.ID == "" || (u.TicketID == "" && u.ExternalID == ""):
				t.Fatalf("update without id or ticket accepted: %+v", u)
			case u.Action != "sign" && u.Action != "return" && u.Action != "requestExtension" && u.Action != "reply":
				t.Fatalf("action %q accepted", u.Action)
			case u.Action == "requestExtension" && u.Days < 1:
				t.Fatalf("extension of %d days accepted", u.Days)
			case (u.Action == "return" || u.Action == "reply") && strings.TrimSpace(u.Text) == "":
				t.Fatalf("%s without text accepted", u.Action)
			case !utf8.ValidString(u.Text) || !utf8.ValidString(u.ID):
				t.Fatalf("invalid UTF-8 accepted")
			}
		}
	})
}

func FuzzSignatureHeader(f *testing.F) {
	good := statusback.Sign("密钥", "1795744800", []byte(`{"updates":[]}`))
	for _, s := range []string{good, good + "," + good, "v0=abc, " + good, "v1=", "v1=zz", ",,,", "v1=" + strings.Repeat("A", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		sigs, err := statusback.ParseSignature(h)
		if err != nil {
			return
		}
		if len(sigs) == 0 || len(sigs) > statusback.MaxSignatures {
			t.Fatalf("%d signatures from %q", len(sigs), h)
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("a %d-byte signature from %q", len(s), h)
			}
		}
		if !strings.Contains(h, "v1=") {
			t.Fatalf("signatures without a v1= value: %q", h)
		}
	})
}
