package authz

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/switchboard12345/switchboard/store"
)

// ParseCSV reads a standard Casbin policy CSV ("p, role, unit, scope,
// action" and "g, principal, role, unit" lines; blank lines and # comments
// skipped). Errors name the line.
func ParseCSV(data []byte) ([]store.Rule, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	r.Comment = '#'
	var out []store.Rule
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		vals := make([]string, 0, len(rec)-1)
		for _, v := range rec[1:] {
			vals = append(vals, strings.TrimSpace(v))
		}
		out = append(out, store.Rule{PType: strings.TrimSpace(rec[0]), Values: vals})
	}
}

// FormatRule writes one line in Casbin CSV form ("p, role, *, subtree,
// view"), quoting a value only when it holds a comma, a quote or a newline.
func FormatRule(r store.Rule) string {
	parts := make([]string, 0, 1+len(r.Values))
	for _, v := range append([]string{r.PType}, r.Values...) {
		if strings.ContainsAny(v, ",\"\r\n") || strings.TrimSpace(v) != v {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, ", ")
}

// FormatCSV writes rules as a Casbin policy CSV.
func FormatCSV(rules []store.Rule) []byte {
	var b bytes.Buffer
	for _, r := range rules {
		b.WriteString(FormatRule(r))
		b.WriteByte('\n')
	}
	return b.Bytes()
}
