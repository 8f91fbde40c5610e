package soap

import (
	"net/http"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
)

// FuzzParseResponse feeds arbitrary bytes to the response parser and the
// mapping to adapters' kinds: they never panic, the answer is either a
// receipt or an error, and an error quotes little backend text.
func FuzzParseResponse(f *testing.F) {
	for _, seed := range []string{
		`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ReceiveWorkOrderResponse xmlns="http://gd.gov.cn/12345/"><code>0</code><caseNo>GZ-1</caseNo></ReceiveWorkOrderResponse></soap:Body></soap:Envelope>`,
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>工单编号格式错误</faultstring></s:Fault></s:Body></s:Envelope>`,
		`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Receiver</env:Value><env:Subcode><env:Value>m:Busy</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="zh">繁忙</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`,
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><R><return>&lt;r&gt;&lt;code&gt;0&lt;/code&gt;&lt;caseNo&gt;X&lt;/caseNo&gt;&lt;/r&gt;</return></R></s:Body></s:Envelope>`,
		`<s:Envelope xmlns:s="x"><s:Body><R><return>{"code":"0","data":{"caseNo":"J"},"list":[1,true,null]}</return></R></s:Body></s:Envelope>`,
		"<?xml version=\"1.0\" encoding=\"GBK\"?><Envelope><Body><msg>\xb3\xc9</msg></Body></Envelope>",
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Envelope><Body><msg>\xe9</msg></Body></Envelope>",
		`<html><body>502 Bad Gateway</body></html>`,
		``,
		`<Envelope><Body>`,
	} {
		f.Add([]byte(seed), 200)
		f.Add([]byte(seed), 500)
	}
	cfg := &Config{
		ResultPath: "caseNo", SuccessCodePath: "code", SuccessCodes: []string{"0"},
		DuplicateCodes: []string{"E409"}, RetryCodes: []string{"E503"}, MessagePath: "msg",
	}
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		if len(body) > maxResponse {
			body = body[:maxResponse]
		}
		if r, err := parseResponse(body); (r == nil) == (err == nil) {
			t.Fatalf("parseResponse = %v, %v: want a response or an error", r, err)
		}
		status = 100 + abs(status)%500
		h := http.Header{"Retry-After": {"7"}}
		r, err := interpret(cfg, status, h, body, now)
		if err != nil {
			if r != (adapters.Receipt{}) {
				t.Fatalf("both a receipt %+v and an error %v", r, err)
			}
			if len(err.Error()) > 600 {
				t.Fatalf("error of %d bytes: %.700s", len(err.Error()), err)
			}
			return
		}
		if status < 200 || status >= 300 {
			t.Fatalf("HTTP %d accepted as %+v", status, r)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}
	return n
}
