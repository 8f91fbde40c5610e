package soap

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/httpx"
)

// SOAP envelope namespaces and content types.
const (
	NamespaceSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"

	contentType11 = "text/xml; charset=utf-8"
	contentType12 = "application/soap+xml; charset=utf-8"
)

// maxResponse bounds how much of a response is read.
const maxResponse = 1 << 20

// maxBackendText bounds the backend text quoted in an error.
const maxBackendText = 200

// DefaultTemplate is the Body of the usual provincial work-order service: the
// operation ReceiveWorkOrder in http://gd.gov.cn/12345/, with pinyin-initial
// element names (lsh 流水号 = the idempotency key, gdbh 工单编号, czlx 操作类型,
// bt 标题, nr 内容, dz 地址, xzqh 行政区划, fldm 分类代码, sqlx 诉求类型,
// jjcd 紧急程度, lxr 联系人, lxdh 联系电话, cbdw 承办单位, xbdw 协办单位
// (comma-separated), slsj 受理时间, qsxs 签收时限, bjsx 办结时限, czsm 操作说明).
const DefaultTemplate = `<ReceiveWorkOrder xmlns="http://gd.gov.cn/12345/">
      <lsh>{{xml .Key}}</lsh>
      <gdbh>{{xml .Ticket.TrackingNumber}}</gdbh>
      <czlx>{{xml .Topic}}</czlx>
      <bt>{{xml .Ticket.Title}}</bt>
      <nr>{{xml .Ticket.Content}}</nr>
      <dz>{{xml .Ticket.Address}}</dz>
      <xzqh>{{xml .Ticket.RegionCode}}</xzqh>
      <fldm>{{xml .Ticket.Category}}</fldm>
      <sqlx>{{xml .Ticket.RequestType}}</sqlx>
      <jjcd>{{xml .Ticket.Urgency}}</jjcd>
      <lxr>{{xml .Ticket.CallerName}}</lxr>
      <lxdh>{{xml .Ticket.CallerPhone}}</lxdh>
      <cbdw>{{xml .Ticket.HandlingUnit}}</cbdw>
      <xbdw>{{range $i, $u := .Ticket.CoHandling}}{{if $i}},{{end}}{{xml $u}}{{end}}</xbdw>
      <slsj>{{datetime .Ticket.CreateTime}}</slsj>
      <qsxs>{{datetime .Ticket.SignBy}}</qsxs>
      <bjsx>{{datetime .Ticket.ReplyBy}}</bjsx>
      <czsm>{{xml .Event.Reason}}</czsm>
    </ReceiveWorkOrder>`

// beijing is China Standard Time, the time zone of the dates in templates.
var beijing = time.FixedZone("CST", 8*3600)

// templateFuncs are the functions templates may call.
var templateFuncs = template.FuncMap{
	"xml": func(args ...any) string { return escape(fmt.Sprint(args...)) },
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(beijing).Format("2006-01-02 15:04:05")
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(beijing).Format("2006-01-02")
	},
}

// parseTemplate parses the Body template, makes every printed value
// XML-escaped, and checks it by rendering a zero Delivery into a
// well-formed envelope.
func parseTemplate(name, text, version string) (*template.Template, error) {
	t, err := template.New(name).Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, err
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			autoEscape(tt.Tree.Root)
		}
	}
	if _, err := render(t, version, adapters.Delivery{}); err != nil {
		return nil, err
	}
	return t, nil
}

// autoEscape appends the xml function to every action that prints, unless
// its pipeline already ends in xml, as html/template does with its escapers.
func autoEscape(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			autoEscape(c)
		}
	case *parse.ActionNode:
		p := n.Pipe
		if p == nil || len(p.Decl) > 0 || len(p.Cmds) == 0 {
			return // an assignment prints nothing
		}
		last := p.Cmds[len(p.Cmds)-1]
		if len(last.Args) > 0 {
			if id, ok := last.Args[0].(*parse.IdentifierNode); ok && id.Ident == "xml" {
				return
			}
		}
		p.Cmds = append(p.Cmds, &parse.CommandNode{
			NodeType: parse.NodeCommand,
			Pos:      n.Pos,
			Args:     []parse.Node{parse.NewIdentifier("xml").SetTree(nil).SetPos(n.Pos)},
		})
	case *parse.IfNode:
		autoEscape(n.List)
		autoEscape(n.ElseList)
	case *parse.RangeNode:
		autoEscape(n.List)
		autoEscape(n.ElseList)
	case *parse.WithNode:
		autoEscape(n.List)
		autoEscape(n.ElseList)
	}
}

// render executes the Body template for d and wraps it in an envelope of
// the given version, which it checks is well-formed XML.
func render(t *template.Template, version string, d adapters.Delivery) ([]byte, error) {
	var inner bytes.Buffer
	if err := t.Execute(&inner, d); err != nil {
		return nil, fmt.Errorf("rendering the template: %w", err)
	}
	env := envelope(version, bytes.TrimSpace(inner.Bytes()))
	if err := wellFormed(env); err != nil {
		return nil, fmt.Errorf("the rendered envelope is not well-formed XML (check the template): %w", err)
	}
	return env, nil
}

// envelope wraps the Body's inner XML in a SOAP envelope.
func envelope(version string, inner []byte) []byte {
	ns := NamespaceSOAP11
	if version == "1.2" {
		ns = NamespaceSOAP12
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<soap:Envelope xmlns:soap="` + ns + `">` + "\n")
	b.WriteString("  <soap:Body>\n    ")
	b.Write(inner)
	b.WriteString("\n  </soap:Body>\n</soap:Envelope>\n")
	return b.Bytes()
}

// contentType returns the Content-Type of a request, and the SOAPAction
// header value for 1.1 ("" for 1.2).
func contentType(version, action string) (ct, soapAction string) {
	if version == "1.2" {
		if action == "" {
			return contentType12, ""
		}
		return contentType12 + `; action="` + action + `"`, ""
	}
	return contentType11, `"` + action + `"`
}

func wellFormed(doc []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// escape returns s as XML character data: the five special characters as
// entities, carriage returns as references (so they survive parsing),
// characters XML forbids (and invalid UTF-8) as U+FFFD; Chinese and all other
// characters as they are.
func escape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == utf8.RuneError && size == 1, !isXMLChar(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// Fault is a SOAP fault as the backend sent it (1.1 faultcode/faultstring or
// 1.2 Code/Value, Subcode/Value, Reason/Text), its texts shortened so that
// the whole stays within 200 bytes.
type Fault struct {
	Version string // "1.1" or "1.2", by the fault's shape
	Code    string // e.g. soap:Client, env:Sender
	Subcode string // 1.2 only
	Reason  string
}

func (f *Fault) Error() string {
	s := "SOAP fault " + f.Code
	if f.Subcode != "" {
		s += " (" + f.Subcode + ")"
	}
	if f.Reason != "" {
		s += ": " + f.Reason
	}
	return s
}

// Permanent reports whether the fault blames the message: 1.1 Client or
// 1.2 Sender (with any dotted refinement such as Client.Validation), or a
// version or mustUnderstand mismatch that a retry would repeat. Server,
// Receiver and anything unknown are transient.
func (f *Fault) Permanent() bool {
	code := f.Code
	if i := strings.LastIndexByte(code, ':'); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.IndexByte(code, '.'); i >= 0 {
		code = code[:i]
	}
	switch strings.ToLower(code) {
	case "client", "sender", "versionmismatch", "mustunderstand", "dataencodingunknown":
		return true
	}
	return false
}

// CodeError is a business result code outside SuccessCodes.
type CodeError struct {
	Code    string
	Message string
}

func (e *CodeError) Error() string {
	s := fmt.Sprintf("result code %q", e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// response is a parsed SOAP response: a fault, or the elements of the Body.
type response struct {
	Fault  *Fault
	leaves []leaf
}

// leaf is an element without child elements, with its path of local names
// below the Body. embedded leaves come from an XML or JSON document carried
// as the text of an element (a common shape of older services).
type leaf struct {
	path     []string
	text     string
	embedded bool
}

// lookup returns the text of the first element whose path ends with path
// ("a/b", local names, any case), preferring elements of the envelope
// itself to elements of an embedded document.
func (r *response) lookup(path string) (string, bool) {
	segs := strings.Split(path, "/")
	for _, embedded := range []bool{false, true} {
		for _, l := range r.leaves {
			if l.embedded == embedded && hasSuffixFold(l.path, segs) {
				return l.text, true
			}
		}
	}
	return "", false
}

func hasSuffixFold(path, suffix []string) bool {
	if len(suffix) > len(path) {
		return false
	}
	path = path[len(path)-len(suffix):]
	for i := range suffix {
		if !strings.EqualFold(path[i], suffix[i]) {
			return false
		}
	}
	return true
}

// parseResponse parses a SOAP 1.1 or 1.2 response by local names, whatever
// the namespaces. It fails when body is not an XML Envelope with a Body.
func parseResponse(body []byte) (*response, error) {
	root, err := parseTree(body)
	if err != nil {
		return nil, err
	}
	if root.name != "Envelope" {
		return nil, fmt.Errorf("the root element is <%s>, not a SOAP Envelope", httpx.Clip(root.name, 40))
	}
	b := root.child("Body")
	if b == nil {
		return nil, errors.New("the SOAP Envelope has no Body")
	}
	r := &response{}
	if f := b.child("Fault"); f != nil {
		r.Fault = parseFault(f)
		return r, nil
	}
	for _, k := range b.kids {
		collect(k, nil, &r.leaves, false, 0)
	}
	return r, nil
}

func parseFault(f *node) *Fault {
	out := &Fault{}
	if c := f.child("faultcode"); c != nil {
		out.Version = "1.1"
		out.Code = c.trimmed()
		if s := f.child("faultstring"); s != nil {
			out.Reason = s.trimmed()
		}
	} else if c := f.child("Code"); c != nil {
		out.Version = "1.2"
		if v := c.child("Value"); v != nil {
			out.Code = v.trimmed()
		}
		if sc := c.child("Subcode"); sc != nil {
			if v := sc.child("Value"); v != nil {
				out.Subcode = v.trimmed()
			}
		}
		if r := f.child("Reason"); r != nil {
			if t := r.child("Text"); t != nil {
				out.Reason = t.trimmed()
			}
		}
	}
	out.Code = httpx.Clip(out.Code, 40)
	out.Subcode = httpx.Clip(out.Subcode, 40)
	out.Reason = httpx.Clip(out.Reason, maxBackendText-80)
	return out
}

// maxDepth bounds element nesting in a response.
const maxDepth = 64

// node is an element of a parsed document.
type node struct {
	name string
	text []byte
	kids []*node
}

func (n *node) child(local string) *node {
	for _, k := range n.kids {
		if k.name == local {
			return k
		}
	}
	return nil
}

func (n *node) trimmed() string { return strings.TrimSpace(string(n.text)) }

// parseTree parses an XML document into a tree of local names and texts.
func parseTree(doc []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.CharsetReader = charsetReader
	var root *node
	var stack []*node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %s", httpx.Clip(err.Error(), 120))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("elements nested deeper than %d", maxDepth)
			}
			n := &node{name: t.Name.Local}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.text = append(p.text, t...)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no XML element")
	}
	return root, nil
}

// collect appends the leaves under n. The text of a leaf of the envelope
// that is itself an XML or JSON document is searched as well, one level
// deep.
func collect(n *node, prefix []string, out *[]leaf, embedded bool, depth int) {
	if depth > maxDepth {
		return
	}
	path := append(slices.Clip(prefix), n.name)
	if len(n.kids) > 0 {
		for _, k := range n.kids {
			collect(k, path, out, embedded, depth+1)
		}
		return
	}
	text := n.trimmed()
	*out = append(*out, leaf{path: path, text: text, embedded: embedded})
	if embedded || text == "" {
		return
	}
	switch text[0] {
	case '<':
		if inner, err := parseTree([]byte(text)); err == nil {
			collect(inner, path, out, true, depth+1)
		}
	case '{':
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			collectJSON(v, path, out, depth+1)
		}
	}
}

func collectJSON(v any, path []string, out *[]leaf, depth int) {
	if depth > maxDepth {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // a deterministic order
		for _, k := range keys {
			collectJSON(v[k], append(slices.Clip(path), k), out, depth+1)
		}
	case []any:
		for _, e := range v {
			collectJSON(e, path, out, depth+1)
		}
	case string:
		*out = append(*out, leaf{path: path, text: strings.TrimSpace(v), embedded: true})
	case json.Number:
		*out = append(*out, leaf{path: path, text: v.String(), embedded: true})
	case bool:
		*out = append(*out, leaf{path: path, text: strconv.FormatBool(v), embedded: true})
	}
}

// charsetReader lets responses declare encodings other than UTF-8: ASCII and
// Latin-1 are decoded; GBK/GB2312/GB18030 (older Chinese systems) are read
// as UTF-8 when the bytes are valid UTF-8 anyway, and otherwise with every
// multi-byte character replaced by U+FFFD: the markup, codes and case numbers
// are ASCII and survive, Chinese texts (fault reasons) do not.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(b))
		for i, c := range b {
			out[i] = rune(c)
		}
		return strings.NewReader(string(out)), nil
	case "gbk", "gb2312", "gb18030", "cp936", "x-gbk", "euc-cn":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		if utf8.Valid(b) {
			return bytes.NewReader(b), nil
		}
		return bytes.NewReader(lossyGBK(b)), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", httpx.Clip(label, 40))
}

// lossyGBK keeps ASCII and turns each GBK/GB18030 character into U+FFFD.
// Trail bytes are never '<', '&' or quotes, so the markup is intact.
func lossyGBK(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			out = append(out, c)
			i++
		case c >= 0x81 && c <= 0xFE && i+1 < len(b) && b[i+1] >= 0x30 && b[i+1] <= 0x39:
			out = utf8.AppendRune(out, utf8.RuneError)
			i += 4 // GB18030 four-byte sequence
		case c >= 0x81 && c <= 0xFE && i+1 < len(b):
			out = utf8.AppendRune(out, utf8.RuneError)
			i += 2
		default:
			out = utf8.AppendRune(out, utf8.RuneError)
			i++
		}
	}
	return out
}

// interpret maps an HTTP answer to a receipt or to an error of the kinds of
// package adapters. now dates a Retry-After given as an HTTP date.
func interpret(cfg *Config, status int, h http.Header, body []byte, now time.Time) (adapters.Receipt, error) {
	resp, perr := parseResponse(body)
	if perr == nil && resp.Fault != nil {
		err := fmt.Errorf("HTTP %d: %w", status, resp.Fault)
		if resp.Fault.Permanent() {
			return adapters.Receipt{}, &adapters.Permanent{Err: err}
		}
		return adapters.Receipt{}, httpx.Retryable(status, h, now, err)
	}
	switch {
	case status >= 200 && status < 300:
		if perr != nil {
			if len(bytes.TrimSpace(body)) == 0 && cfg.SuccessCodePath == "" {
				return adapters.Receipt{}, nil // a one-way operation: 202 and no body
			}
			return adapters.Receipt{}, fmt.Errorf("HTTP %d with an unreadable answer (it may have been accepted; retry with the same key): %w", status, perr)
		}
		return receipt(cfg, resp)
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		return adapters.Receipt{}, httpx.Retryable(status, h, now, fmt.Errorf("HTTP %d: %s", status, httpx.Clip(string(body), maxBackendText)))
	case status >= 300 && status < 400:
		return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("HTTP %d redirect to %q (check url)", status, httpx.Clip(h.Get("Location"), maxBackendText))}
	case status >= 400 && status < 500:
		return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("HTTP %d: %s", status, httpx.Clip(string(body), maxBackendText))}
	}
	return adapters.Receipt{}, httpx.Retryable(status, h, now, fmt.Errorf("HTTP %d: %s", status, httpx.Clip(string(body), maxBackendText)))
}

// receipt reads the business code and the case number of an accepted call.
func receipt(cfg *Config, resp *response) (adapters.Receipt, error) {
	var r adapters.Receipt
	if cfg.SuccessCodePath != "" {
		code, ok := resp.lookup(cfg.SuccessCodePath)
		if !ok {
			return adapters.Receipt{}, fmt.Errorf("the answer has no <%s> result code (it may have been accepted; retry with the same key)", cfg.SuccessCodePath)
		}
		switch {
		case slices.Contains(cfg.SuccessCodes, code):
		case slices.Contains(cfg.DuplicateCodes, code):
			r.Duplicate = true
		default:
			msg, _ := resp.lookup(cfg.MessagePath)
			err := &CodeError{Code: httpx.Clip(code, 40), Message: httpx.Clip(msg, maxBackendText-60)}
			if slices.Contains(cfg.RetryCodes, code) {
				return adapters.Receipt{}, err
			}
			return adapters.Receipt{}, &adapters.Permanent{Err: err}
		}
	}
	r.ExternalID, _ = resp.lookup(cfg.ResultPath)
	return r, nil
}
