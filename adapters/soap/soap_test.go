package soap

import (
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
	"github.com/switchboard12345/switchboard/internal/testnet"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// request is one request as the fake service received it.
type request struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// service is a fake SOAP service recording what it receives.
type service struct {
	mu   sync.Mutex
	reqs []request
	url  string
}

func (s *service) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

func (s *service) arrivals() []adaptertest.Arrival {
	var out []adaptertest.Arrival
	for _, r := range s.requests() {
		out = append(out, adaptertest.Arrival{Key: r.Header.Get(DefaultIdempotencyHeader), Body: r.Body})
	}
	return out
}

// newService starts a fake service answering with respond (nil: a success
// carrying a case number, in the version the request used).
func newService(t *testing.T, respond func(w http.ResponseWriter, r request)) *service {
	t.Helper()
	if respond == nil {
		respond = acceptWithCaseNo
	}
	s := &service{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(b)}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		respond(w, req)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/ws/WorkOrderService.asmx"
	return s
}

// is12 reports whether a request was SOAP 1.2.
func is12(r request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/soap+xml")
}

// reply writes a SOAP envelope of the request's version around inner.
func reply(w http.ResponseWriter, r request, status int, inner string) {
	ct, ns := contentType11, NamespaceSOAP11
	if is12(r) {
		ct, ns = contentType12, NamespaceSOAP12
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s=%q><s:Body>%s</s:Body></s:Envelope>`, ns, inner)
}

func acceptWithCaseNo(w http.ResponseWriter, r request) {
	reply(w, r, 200, `<ReceiveWorkOrderResponse xmlns="http://gd.gov.cn/12345/"><ReceiveWorkOrderResult><code>0</code><caseNo>GZSAMR-2026-000042</caseNo></ReceiveWorkOrderResult></ReceiveWorkOrderResponse>`)
}

func clientFault(w http.ResponseWriter, r request) {
	if is12(r) {
		reply(w, r, 500, `<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="zh">工单编号格式错误</s:Text></s:Reason></s:Fault>`)
		return
	}
	reply(w, r, 500, `<s:Fault><faultcode>s:Client</faultcode><faultstring>工单编号格式错误</faultstring></s:Fault>`)
}

func newAdapter(t *testing.T, settings map[string]string, endpoints ...string) adapters.Adapter {
	t.Helper()
	a, err := New(adapters.Config{Backend: "gz-samr-soap", Endpoints: endpoints, Settings: settings})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { a.(adapters.Closer).Close() })
	return a
}

// hanging returns the URL of a listener that accepts connections and never
// answers.
func hanging(t *testing.T) string {
	t.Helper()
	return "http://" + testnet.HangingAddr(t) + "/ws"
}

// closedPort returns the URL of a port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	return "http://" + testnet.ClosedAddr(t) + "/ws"
}

func TestConformance(t *testing.T) {
	for _, version := range []string{"1.1", "1.2"} {
		t.Run("SOAP"+version, func(t *testing.T) {
			adaptertest.Run(t, adaptertest.Harness{
				New: func(t *testing.T) (adapters.Adapter, func() []adaptertest.Arrival) {
					s := newService(t, nil)
					return newAdapter(t, map[string]string{"version": version}, s.url), s.arrivals
				},
				Rejecting: func(t *testing.T) adapters.Adapter {
					s := newService(t, clientFault)
					return newAdapter(t, map[string]string{"version": version, "url": s.url})
				},
				Down: func(t *testing.T) adapters.Adapter {
					return newAdapter(t, map[string]string{"version": version}, closedPort(t))
				},
				Hanging: func(t *testing.T) adapters.Adapter {
					return newAdapter(t, map[string]string{"version": version}, hanging(t))
				},
			})
		})
	}
}

// TestGoldenRequests pins the request on the wire: method, path, the SOAP
// headers and the envelope. Run with -update to rewrite testdata/*.golden.
func TestGoldenRequests(t *testing.T) {
	for _, version := range []string{"1.1", "1.2"} {
		t.Run(version, func(t *testing.T) {
			s := newService(t, nil)
			a := newAdapter(t, map[string]string{"version": version}, s.url)
			d := adaptertest.Sample("01M8G55CTP1VDNVKPCEM4DYNXK-2")
			d.Ticket.CoHandling = []string{"tianhe-street"}
			r, err := a.Deliver(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if r.ExternalID != "GZSAMR-2026-000042" {
				t.Errorf("ExternalID = %q", r.ExternalID)
			}
			reqs := s.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			got := wire(reqs[0])
			golden := filepath.Join("testdata", "request-soap"+version+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("request differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// wire prints the parts of a request that matter to a SOAP service.
func wire(r request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.Path)
	for _, h := range []string{"Content-Type", "SOAPAction", DefaultIdempotencyHeader} {
		if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			fmt.Fprintf(&b, "%s: %s\n", h, strings.Join(v, ", "))
		}
	}
	b.WriteString("\n")
	b.WriteString(r.Body)
	return b.String()
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		name                string
		settings            map[string]string
		contentType, action string
		hasAction           bool
		keyHeader           string
	}{
		{"1.1 default action", map[string]string{}, "text/xml; charset=utf-8", `"` + DefaultAction + `"`, true, DefaultIdempotencyHeader},
		{"1.1 own action", map[string]string{"action": "urn:PaiDan"}, "text/xml; charset=utf-8", `"urn:PaiDan"`, true, DefaultIdempotencyHeader},
		{"1.1 empty action", map[string]string{"action": ""}, "text/xml; charset=utf-8", `""`, true, DefaultIdempotencyHeader},
		{"1.1 own template, no action", map[string]string{"template": "<a/>"}, "text/xml; charset=utf-8", `""`, true, DefaultIdempotencyHeader},
		{"1.2 action", map[string]string{"version": "1.2", "action": "urn:PaiDan"}, `application/soap+xml; charset=utf-8; action="urn:PaiDan"`, "", false, DefaultIdempotencyHeader},
		{"1.2 no action", map[string]string{"version": "1.2", "action": ""}, "application/soap+xml; charset=utf-8", "", false, DefaultIdempotencyHeader},
		{"own key header", map[string]string{"idempotencyHeader": "X-Lsh"}, "text/xml; charset=utf-8", `"` + DefaultAction + `"`, true, "X-Lsh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, nil)
			tt.settings["url"] = s.url
			a := newAdapter(t, tt.settings)
			if _, err := a.Deliver(context.Background(), adaptertest.Sample("k-1")); err != nil {
				t.Fatal(err)
			}
			h := s.requests()[0].Header
			if got := h.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			got, has := h["Soapaction"]
			if has != tt.hasAction || (has && got[0] != tt.action) {
				t.Errorf("SOAPAction = %q (present %v), want %q (present %v)", got, has, tt.action, tt.hasAction)
			}
			if got := h.Get(tt.keyHeader); got != "k-1" {
				t.Errorf("%s = %q, want k-1", tt.keyHeader, got)
			}
		})
	}
}

// bodyField returns the text of the first element named local in an envelope.
func bodyField(t *testing.T, envelope, local string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(envelope))
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("no <%s> in the envelope (%v):\n%s", local, err, envelope)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == local {
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
}

func TestEscaping(t *testing.T) {
	const (
		title   = `<投诉>&"退款"`
		content = "店主说'无法退款' & <拒绝>；\n第二行\r\n</nr><bjsx>2000-01-01</bjsx><nr>"
		address = "体育西路1号\x00\x1b\uFFFE楼"
	)
	templates := map[string]string{
		"default":                      "",
		"explicit xml":                 `<W><bt>{{xml .Ticket.Title}}</bt><nr>{{.Ticket.Content | xml}}</nr><dz>{{xml .Ticket.Address}}</dz></W>`,
		"automatic escaping":           `<W><bt>{{.Ticket.Title}}</bt><nr>{{.Ticket.Content}}</nr><dz>{{.Ticket.Address}}</dz></W>`,
		"printf and variables":         `<W>{{$t := .Ticket.Title}}<bt>{{$t}}</bt><nr>{{printf "%s" .Ticket.Content}}</nr>{{with .Ticket.Address}}<dz>{{.}}</dz>{{end}}</W>`,
		"mixed explicit and automatic": `<W><bt>{{.Ticket.Title}}</bt><nr>{{.Ticket.Content | xml}}</nr><dz>{{.Ticket.Address}}</dz></W>`,
	}
	for name, tmpl := range templates {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, nil)
			settings := map[string]string{"url": s.url}
			if tmpl != "" {
				settings["template"] = tmpl
			}
			a := newAdapter(t, settings)
			d := adaptertest.Sample("k-escape")
			d.Ticket.Title, d.Ticket.Content, d.Ticket.Address = title, content, address
			if _, err := a.Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			env := s.requests()[0].Body
			if got := bodyField(t, env, "bt"); got != title {
				t.Errorf("<bt> = %q, want %q", got, title)
			}
			if got := bodyField(t, env, "nr"); got != content {
				t.Errorf("<nr> = %q, want %q", got, content)
			}
			if got, want := bodyField(t, env, "dz"), "体育西路1号\uFFFD\uFFFD\uFFFD楼"; got != want {
				t.Errorf("<dz> = %q, want %q (characters XML forbids replaced)", got, want)
			}
			if !strings.Contains(env, "&lt;投诉&gt;&amp;&quot;退款&quot;") {
				t.Errorf("the title is not escaped as expected, Chinese as UTF-8:\n%s", env)
			}
			if strings.Contains(env, "&#") && !strings.Contains(env, "&#xD;") {
				t.Errorf("unexpected character references:\n%s", env)
			}
		})
	}
}

func TestCustomTemplate(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("testdata", "custom.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"template", "templateFile"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			s := newService(t, nil)
			settings := map[string]string{"url": s.url, "action": "http://12345.sz.gov.cn/ws/PaiDan"}
			if how == "template" {
				settings["template"] = string(text)
			} else {
				settings["templateFile"] = filepath.Join("testdata", "custom.tmpl")
			}
			a := newAdapter(t, settings)
			d := adaptertest.Sample("k-custom")
			d.Attempt = 3
			d.Ticket.CoHandling = []string{"天河区<住建局>", "天河街道"}
			if _, err := a.Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			r := s.requests()[0]
			if got := r.Header.Get("SOAPAction"); got != `"http://12345.sz.gov.cn/ws/PaiDan"` {
				t.Errorf("SOAPAction = %s", got)
			}
			for _, want := range []string{
				`<tns:PaiDan xmlns:tns="http://12345.sz.gov.cn/ws">`,
				"<tns:lsh>k-custom</tns:lsh>",
				"<tns:gdbh>20261127-000123</tns:gdbh>",
				"<tns:xbdw>天河区&lt;住建局&gt;</tns:xbdw>",
				"<tns:xbdw>天河街道</tns:xbdw>",
				"<tns:dz>广州市天河区体育西路1号</tns:dz>",
				"<tns:qsxs>2026-11-30</tns:qsxs>",
				"<tns:cs>3</tns:cs>",
			} {
				if !strings.Contains(r.Body, want) {
					t.Errorf("the envelope lacks %s:\n%s", want, r.Body)
				}
			}
		})
	}
}

func TestTemplateFileMissing(t *testing.T) {
	s := newService(t, nil)
	dir := t.TempDir()
	file := filepath.Join(dir, "body.tmpl")
	a := newAdapter(t, map[string]string{"url": s.url, "templateFile": file})
	_, err := a.Deliver(context.Background(), adaptertest.Sample("k-1"))
	if err == nil || adapters.IsPermanent(err) || !strings.Contains(err.Error(), "templateFile") {
		t.Fatalf("err = %v, want a transient error naming templateFile", err)
	}
	if n := len(s.requests()); n != 0 {
		t.Fatalf("%d requests sent without a template", n)
	}
	// Fixing the file is picked up without a restart.
	if err := os.WriteFile(file, []byte(`<W><lsh>{{.Key}}</lsh></W>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("k-1")); err != nil {
		t.Fatal(err)
	}
	if got := bodyField(t, s.requests()[0].Body, "lsh"); got != "k-1" {
		t.Errorf("<lsh> = %q", got)
	}
}

func TestBadTemplates(t *testing.T) {
	tests := map[string]string{
		"syntax":        `<W>{{.Key</W>`,
		"unknown field": `<W>{{.Ticket.Nope}}</W>`,
		"unknown func":  `<W>{{upper .Key}}</W>`,
		"raw ampersand": `<W>A & B {{.Key}}</W>`,
		"unclosed":      `<W><bt>{{.Ticket.Title}}</W>`,
	}
	for name, tmpl := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(adapters.Config{Endpoints: []string{"http://127.0.0.1:1/ws"}, Settings: map[string]string{"template": tmpl}})
			if err == nil || !strings.Contains(err.Error(), "template") {
				t.Fatalf("err = %v, want an error naming the template", err)
			}
		})
	}
}

func TestSuccessCodes(t *testing.T) {
	settings := map[string]string{
		"successCodePath": "code", "successCodes": "0, 200", "duplicateCodes": "E409",
		"retryCodes": "E503", "messagePath": "msg",
	}
	tests := []struct {
		name   string
		inner  string
		kind   string
		caseNo string
		dup    bool
	}{
		{"code 0", `<R><code>0</code><caseNo>A1</caseNo></R>`, "ok", "A1", false},
		{"code 200", `<R><code> 200 </code><caseNo>A2</caseNo></R>`, "ok", "A2", false},
		{"duplicate", `<R><code>E409</code><msg>流水号已存在</msg><caseNo>A1</caseNo></R>`, "ok", "A1", true},
		{"busy", `<R><code>E503</code><msg>系统繁忙</msg></R>`, "transient", "", false},
		{"refused", `<R><code>E001</code><msg>诉求类型不能为空</msg></R>`, "permanent", "", false},
		{"no code", `<R><caseNo>A3</caseNo></R>`, "transient", "", false},
		{"code in an embedded XML string", `<R><return>&lt;?xml version="1.0"?&gt;&lt;result&gt;&lt;code&gt;0&lt;/code&gt;&lt;caseNo&gt;X9&lt;/caseNo&gt;&lt;/result&gt;</return></R>`, "ok", "X9", false},
		{"code in an embedded JSON string", `<R><return>{"code":0,"data":{"caseNo":"J7"}}</return></R>`, "ok", "J7", false},
		{"embedded JSON refusal", `<R><return>{"code":"E001","msg":"地址不能为空"}</return></R>`, "permanent", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, func(w http.ResponseWriter, r request) { reply(w, r, 200, tt.inner) })
			cfg := map[string]string{"url": s.url}
			for k, v := range settings {
				cfg[k] = v
			}
			r, err := newAdapter(t, cfg).Deliver(context.Background(), adaptertest.Sample("k-code"))
			checkKind(t, err, tt.kind)
			if r.ExternalID != tt.caseNo || r.Duplicate != tt.dup {
				t.Errorf("receipt = %+v, want ExternalID %q Duplicate %v", r, tt.caseNo, tt.dup)
			}
			if tt.name == "refused" {
				var ce *CodeError
				if !errors.As(err, &ce) || ce.Code != "E001" || ce.Message != "诉求类型不能为空" {
					t.Errorf("err = %v, want a CodeError with the code and message", err)
				}
			}
		})
	}
}

// checkKind checks that err is of kind ok, permanent, transient or
// retryAfter.
func checkKind(t *testing.T, err error, kind string) {
	t.Helper()
	_, isRetry := adapters.RetryDelay(err)
	var got string
	switch {
	case err == nil:
		got = "ok"
	case adapters.IsPermanent(err):
		got = "permanent"
	case isRetry:
		got = "retryAfter"
	default:
		got = "transient"
	}
	if got != kind {
		t.Errorf("err = %v: %s, want %s", err, got, kind)
	}
}

// TestFaultMapping sends faults of both versions through a real server.
func TestFaultMapping(t *testing.T) {
	fault11 := func(code, text string) string {
		return `<s:Fault><faultcode>` + code + `</faultcode><faultstring>` + text + `</faultstring></s:Fault>`
	}
	fault12 := func(code, sub, text string) string {
		f := `<s:Fault><s:Code><s:Value>` + code + `</s:Value>`
		if sub != "" {
			f += `<s:Subcode><s:Value>` + sub + `</s:Value></s:Subcode>`
		}
		return f + `</s:Code><s:Reason><s:Text xml:lang="zh-CN">` + text + `</s:Text></s:Reason></s:Fault>`
	}
	tests := []struct {
		name    string
		version string
		status  int
		fault   string
		kind    string
	}{
		{"1.1 soap:Client", "1.1", 500, fault11("soap:Client", "工单编号重复"), "permanent"},
		{"1.1 unprefixed Client", "1.1", 500, fault11("Client", "bad"), "permanent"},
		{"1.1 Client.Validation", "1.1", 500, fault11("s:Client.Validation", "bt 不能为空"), "permanent"},
		{"1.1 Server", "1.1", 500, fault11("soap:Server", "数据库连接失败"), "transient"},
		{"1.1 Server.userException", "1.1", 500, fault11("soapenv:Server.userException", "java.lang.NullPointerException"), "transient"},
		{"1.1 VersionMismatch", "1.1", 500, fault11("soap:VersionMismatch", "wrong namespace"), "permanent"},
		{"1.1 MustUnderstand", "1.1", 500, fault11("soap:MustUnderstand", "header"), "permanent"},
		{"1.1 unknown code", "1.1", 500, fault11("ns1:Busy", "?"), "transient"},
		{"1.1 Client fault with 200", "1.1", 200, fault11("soap:Client", "bad"), "permanent"},
		{"1.1 Server fault in 503 with Retry-After", "1.1", 503, fault11("soap:Server", "维护中"), "retryAfter"},
		{"1.2 Sender", "1.2", 500, fault12("env:Sender", "", "工单编号格式错误"), "permanent"},
		{"1.2 Sender with subcode", "1.2", 500, fault12("env:Sender", "m:InvalidGdbh", "格式错误"), "permanent"},
		{"1.2 Receiver", "1.2", 500, fault12("env:Receiver", "", "服务暂不可用"), "transient"},
		{"1.2 Receiver with subcode", "1.2", 500, fault12("env:Receiver", "m:Timeout", "超时"), "transient"},
		{"1.2 VersionMismatch", "1.2", 500, fault12("env:VersionMismatch", "", "v"), "permanent"},
		{"1.2 DataEncodingUnknown", "1.2", 500, fault12("env:DataEncodingUnknown", "", "enc"), "permanent"},
		{"1.2 request, 1.1-shaped fault", "1.2", 500, fault11("soap:Client", "bad"), "permanent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, func(w http.ResponseWriter, r request) {
				w.Header().Set("Retry-After", "60")
				reply(w, r, tt.status, tt.fault)
			})
			_, err := newAdapter(t, map[string]string{"url": s.url, "version": tt.version}).Deliver(context.Background(), adaptertest.Sample("k-fault"))
			checkKind(t, err, tt.kind)
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want a *Fault in the chain", err)
			}
			if !strings.Contains(tt.fault, f.Code) || f.Code == "" || f.Reason == "" {
				t.Errorf("fault = %+v", f)
			}
		})
	}
}

func TestHTTPMapping(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		kind   string
		after  time.Duration
	}{
		{"400 html", 400, nil, "<html><body>Bad Request</body></html>", "permanent", 0},
		{"401", 401, nil, "unauthorized", "permanent", 0},
		{"404", 404, nil, "not found", "permanent", 0},
		{"408", 408, nil, "", "transient", 0},
		{"429", 429, nil, "slow down", "transient", 0},
		{"429 Retry-After seconds", 429, map[string]string{"Retry-After": "120"}, "", "retryAfter", 2 * time.Minute},
		{"429 Retry-After junk", 429, map[string]string{"Retry-After": "soon"}, "", "transient", 0},
		{"500 html", 500, nil, "<html>Internal Server Error</html>", "transient", 0},
		{"502 text", 502, nil, "Bad Gateway", "transient", 0},
		{"503 Retry-After", 503, map[string]string{"Retry-After": "5"}, "", "retryAfter", 5 * time.Second},
		{"302", 302, map[string]string{"Location": "https://example.gov.cn/ws"}, "", "permanent", 0},
		{"200 not XML", 200, nil, "OK", "transient", 0},
		{"200 XML, not an envelope", 200, nil, "<result><caseNo>1</caseNo></result>", "transient", 0},
		{"200 truncated envelope", 200, nil, `<s:Envelope xmlns:s="` + NamespaceSOAP11 + `"><s:Body><caseNo>1`, "transient", 0},
		{"202 empty (one-way)", 202, nil, "", "ok", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, func(w http.ResponseWriter, r request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, err := newAdapter(t, map[string]string{"url": s.url}).Deliver(context.Background(), adaptertest.Sample("k-http"))
			checkKind(t, err, tt.kind)
			if d, ok := adapters.RetryDelay(err); ok && d != tt.after {
				t.Errorf("retry after %s, want %s", d, tt.after)
			}
		})
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}
	_, err := interpret(&Config{}, 429, h, nil, now)
	if d, ok := adapters.RetryDelay(err); !ok || d != 90*time.Second {
		t.Fatalf("err = %v, want a retry after 90s", err)
	}
}

func TestBackendTextBounded(t *testing.T) {
	long := strings.Repeat("x", 10000)
	cases := map[string]func(w http.ResponseWriter, r request){
		"400 body":     func(w http.ResponseWriter, r request) { w.WriteHeader(400); io.WriteString(w, long) },
		"500 body":     func(w http.ResponseWriter, r request) { w.WriteHeader(500); io.WriteString(w, long) },
		"fault reason": func(w http.ResponseWriter, r request) { reply(w, r, 500, fault("soap:Client", long)) },
		"fault code":   func(w http.ResponseWriter, r request) { reply(w, r, 500, fault(long, long)) },
		"huge 200": func(w http.ResponseWriter, r request) {
			w.WriteHeader(200)
			io.WriteString(w, `<s:Envelope xmlns:s="`+NamespaceSOAP11+`"><s:Body><caseNo>`)
			for range 300 {
				io.WriteString(w, long)
			}
			io.WriteString(w, `</caseNo></s:Body></s:Envelope>`)
		},
	}
	for name, respond := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, respond)
			_, err := newAdapter(t, map[string]string{"url": s.url}).Deliver(context.Background(), adaptertest.Sample("k-long"))
			if err == nil {
				t.Fatal("no error")
			}
			if n := strings.Count(err.Error(), "x"); n > maxBackendText {
				t.Errorf("the error quotes %d bytes of backend text: %.300s…", n, err)
			}
		})
	}
}

func fault(code, text string) string {
	return `<s:Fault><faultcode>` + code + `</faultcode><faultstring>` + text + `</faultstring></s:Fault>`
}

func TestOwnTimeout(t *testing.T) {
	a := newAdapter(t, map[string]string{"url": hanging(t), "timeout": "100ms"})
	start := time.Now()
	_, err := a.Deliver(context.Background(), adaptertest.Sample("k-timeout"))
	if err == nil || adapters.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a transient deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestResultPath(t *testing.T) {
	inner := `<m:Resp xmlns:m="urn:x"><m:Result><m:CASENO>A</m:CASENO><m:slbh>SL-20261127-7</m:slbh></m:Result><other><slbh>wrong</slbh></other></m:Resp>`
	tests := []struct{ path, want string }{
		{"", "A"}, // default caseNo, any case
		{"slbh", "SL-20261127-7"},
		{"Result/slbh", "SL-20261127-7"},
		{"other/slbh", "wrong"},
		{"missing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			s := newService(t, func(w http.ResponseWriter, r request) { reply(w, r, 200, inner) })
			settings := map[string]string{"url": s.url}
			if tt.path != "" {
				settings["resultPath"] = tt.path
			}
			r, err := newAdapter(t, settings).Deliver(context.Background(), adaptertest.Sample("k-path"))
			if err != nil {
				t.Fatal(err)
			}
			if r.ExternalID != tt.want {
				t.Errorf("ExternalID = %q, want %q", r.ExternalID, tt.want)
			}
		})
	}
}

func TestGBKResponse(t *testing.T) {
	// 成功 in GBK is b3 c9 b9 a6.
	body := "<?xml version=\"1.0\" encoding=\"GBK\"?><soap:Envelope xmlns:soap=\"" + NamespaceSOAP11 +
		"\"><soap:Body><R><code>0</code><msg>\xb3\xc9\xb9\xa6</msg><caseNo>GB-1</caseNo></R></soap:Body></soap:Envelope>"
	cfg := &Config{ResultPath: "caseNo", SuccessCodePath: "code", SuccessCodes: []string{"0"}}
	r, err := interpret(cfg, 200, nil, []byte(body), time.Time{})
	if err != nil || r.ExternalID != "GB-1" {
		t.Fatalf("receipt %+v, err %v", r, err)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name      string
		endpoints []string
		settings  map[string]string
		err       string // a substring of the error; "" for none
	}{
		{"endpoint only", []string{"http://10.1.2.3:8080/ws"}, nil, ""},
		{"url wins", []string{"http://a/ws"}, map[string]string{"url": "https://b/ws"}, ""},
		{"full", nil, map[string]string{"url": "http://h/ws", "version": "1.2", "action": "urn:a", "idempotencyHeader": "X-Lsh",
			"resultPath": "Result/slbh", "successCodePath": "code", "successCodes": "0,200", "retryCodes": "E503", "duplicateCodes": "E409",
			"messagePath": "msg", "timeout": "5s"}, ""},
		{"no url", nil, nil, "url: required"},
		{"bad url", nil, map[string]string{"url": "ftp://h/ws"}, "url:"},
		{"bad version", []string{"http://h"}, map[string]string{"version": "2"}, "version:"},
		{"unknown key", []string{"http://h"}, map[string]string{"soapAction": "x"}, `unknown setting "soapAction"`},
		{"both templates", []string{"http://h"}, map[string]string{"template": "<a/>", "templateFile": "a.tmpl"}, "template, templateFile"},
		{"bad header", []string{"http://h"}, map[string]string{"idempotencyHeader": "X Key"}, "idempotencyHeader:"},
		{"bad action", []string{"http://h"}, map[string]string{"action": "a\"b"}, "action:"},
		{"bad timeout", []string{"http://h"}, map[string]string{"timeout": "30"}, "timeout:"},
		{"negative timeout", []string{"http://h"}, map[string]string{"timeout": "-1s"}, "timeout:"},
		{"codes without path", []string{"http://h"}, map[string]string{"successCodes": "0"}, "successCodes: needs successCodePath"},
		{"path without codes", []string{"http://h"}, map[string]string{"successCodePath": "code"}, "successCodes: required"},
		{"overlapping codes", []string{"http://h"}, map[string]string{"successCodePath": "code", "successCodes": "0", "retryCodes": "0"}, "successCodes:"},
		{"bad resultPath", []string{"http://h"}, map[string]string{"resultPath": "a//b"}, "resultPath:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(adapters.Config{Backend: "b", Endpoints: tt.endpoints, Settings: tt.settings})
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want one containing %q", err, tt.err)
			}
		})
	}
	cfg, err := Decode(adapters.Config{Endpoints: []string{"http://h/ws"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version != "1.1" || cfg.Action != DefaultAction || cfg.IdempotencyHeader != "X-Idempotency-Key" ||
		cfg.ResultPath != "caseNo" || cfg.Timeout != 30*time.Second {
		t.Errorf("defaults: %+v", cfg)
	}
}
