package deadline_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/deadline"
	"gopkg.in/yaml.v3"
)

// decodePolicyConfig decodes YAML over the defaults, strictly, the way the
// server's configuration loader is expected to.
func decodePolicyConfig(t *testing.T, doc string) (deadline.PolicyConfig, error) {
	t.Helper()
	cfg := deadline.DefaultPolicyConfig()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, err
	}
	return cfg, nil
}

func newPolicy(t *testing.T, doc string) *deadline.Policy {
	t.Helper()
	cfg, err := decodePolicyConfig(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	p, err := deadline.NewPolicy(cfg, deadline.DefaultCalendar())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultPolicyConfigIsValid(t *testing.T) {
	t.Parallel()
	if err := deadline.DefaultPolicyConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSignBy(t *testing.T) {
	t.Parallel()
	p := newPolicy(t, `sign: {utilityPrefixes: ["0105", "0301"]}`)
	for _, tc := range []struct {
		name, at, urgency, category, want string
	}{
		{"critical on a holiday is 15 wall-clock minutes", "2026-02-16 10:00", "CRITICAL", "0101", "2026-02-16 10:15"},
		{"critical ignores case", "2026-02-16 10:00", "critical", "", "2026-02-16 10:15"},
		{"critical crosses midnight", "2026-02-16 23:50", "CRITICAL", "", "2026-02-17 00:05"},
		{"critical beats utility", "2026-03-09 10:00", "CRITICAL", "010501", "2026-03-09 10:15"},
		{"urgent on a Sunday is 30 minutes", "2026-03-08 10:00", "URGENT", "0101", "2026-03-08 10:30"},
		{"utility category is 30 minutes", "2026-10-03 22:00", "NORMAL", "030102", "2026-10-03 22:30"},
		{"utility category with empty urgency", "2026-03-09 10:00", "", "0105", "2026-03-09 10:30"},
		{"normal is one working day", "2026-03-13 10:00", "NORMAL", "0101", "2026-03-16 10:00"},
		{"unknown urgency is normal", "2026-03-13 10:00", "HIGH", "0101", "2026-03-16 10:00"},
		{"normal on a holiday: end of first working day", "2026-02-16 10:00", "NORMAL", "0101", "2026-02-25 00:00"},
		{"normal on Saturday: end of Monday", "2026-03-14 10:00", "NORMAL", "", "2026-03-17 00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _ := p.Deadlines(at(t, tc.at), tc.urgency, "COMPLAINT", tc.category)
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("signBy = %s, want %s", got.In(cst).Format("2006-01-02 15:04"), tc.want)
			}
		})
	}
}

func TestReplyByRulePrecedence(t *testing.T) {
	t.Parallel()
	p := newPolicy(t, `
reply:
  rules:
    - {requestType: CONSULTATION, limit: 3wd}
    - {categoryPrefix: "01", limit: 7wd}
    - {categoryPrefix: "0102", limit: 10wd}
    - {categoryPrefix: "01", requestType: COMPLAINT, limit: 8wd}
    - {categoryPrefix: "02", limit: 2h}
`)
	start := "2026-03-02 09:00" // Monday; 2026-03 has no holidays
	for _, tc := range []struct {
		name, requestType, category, want string
	}{
		{"no rule matches: default 5wd", "COMPLAINT", "03", "2026-03-09 09:00"},
		{"empty category and type: default", "", "", "2026-03-09 09:00"},
		{"request type rule", "CONSULTATION", "03", "2026-03-05 09:00"},
		{"request type ignores case", "consultation", "", "2026-03-05 09:00"},
		{"category prefix beats request type", "CONSULTATION", "0103", "2026-03-11 09:00"},
		{"longer prefix beats shorter", "CONSULTATION", "010203", "2026-03-16 09:00"},
		{"prefix with type beats prefix alone", "COMPLAINT", "0103", "2026-03-12 09:00"},
		{"longer prefix beats prefix with type", "COMPLAINT", "0102", "2026-03-16 09:00"},
		{"wall-clock reply rule", "HELP", "0201", "2026-03-02 11:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, got := p.Deadlines(at(t, start), "NORMAL", tc.requestType, tc.category)
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("replyBy = %s, want %s", got.In(cst).Format("2006-01-02 15:04"), tc.want)
			}
		})
	}
}

func TestReplyByAroundHolidays(t *testing.T) {
	t.Parallel()
	p := newPolicy(t, "")
	for _, tc := range []struct {
		name, at, want string
	}{
		{"dispatched before 2026 Spring Festival", "2026-02-12 15:00", "2026-02-26 15:00"},
		{"dispatched during 2026 Spring Festival", "2026-02-20 15:00", "2026-03-02 00:00"},
		{"dispatched before 2025 National Day", "2025-09-29 11:00", "2025-10-13 11:00"},
		{"dispatched before 2026 National Day", "2026-09-29 11:00", "2026-10-12 11:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, got := p.Deadlines(at(t, tc.at), "NORMAL", "COMPLAINT", "0101")
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("replyBy = %s, want %s", got.In(cst).Format("2006-01-02 15:04 Mon"), want.Format("2006-01-02 15:04 Mon"))
			}
		})
	}
}

func TestExtend(t *testing.T) {
	t.Parallel()
	p := newPolicy(t, "")
	replyBy := at(t, "2026-09-29 11:00") // Tuesday before National Day
	for _, tc := range []struct {
		name string
		days int
		want string // "" means error
	}{
		{"zero days", 0, ""},
		{"negative", -1, ""},
		{"over the maximum", 11, ""},
		{"one day", 1, "2026-09-30 11:00"},
		{"across National Day with make-up Saturday", 3, "2026-10-09 11:00"},
		{"the maximum", 10, "2026-10-19 11:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Extend(replyBy, tc.days)
			if tc.want == "" {
				if !errors.Is(err, deadline.ErrExtension) {
					t.Fatalf("Extend(%d) = %v, %v; want ErrExtension", tc.days, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("Extend(%d) = %s, want %s", tc.days, got.In(cst).Format("2006-01-02 15:04 Mon"), want.Format("2006-01-02 15:04 Mon"))
			}
		})
	}
	if got := p.MaxExtensionDays(); got != 10 {
		t.Errorf("MaxExtensionDays() = %d, want 10", got)
	}
	disabled := newPolicy(t, "maxExtensionDays: 0")
	if _, err := disabled.Extend(replyBy, 1); !errors.Is(err, deadline.ErrExtension) {
		t.Errorf("Extend with extensions disabled: err = %v, want ErrExtension", err)
	}
}

func TestReturnBy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, config, at, want string
	}{
		{"two working days", "", "2026-03-09 15:00", "2026-03-11 15:00"},
		{"across 2025 National Day", "", "2025-09-29 15:00", "2025-10-09 15:00"},
		{"dispatched on Sunday", "", "2026-03-08 15:00", "2026-03-11 00:00"},
		{"configured in hours", "returnWithin: 24h", "2026-03-14 15:00", "2026-03-15 15:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := newPolicy(t, tc.config).ReturnBy(at(t, tc.at))
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("ReturnBy = %s, want %s", got.In(cst).Format("2006-01-02 15:04 Mon"), want.Format("2006-01-02 15:04 Mon"))
			}
		})
	}
}

func TestNewPolicyNilCalendarUsesDefault(t *testing.T) {
	t.Parallel()
	p, err := deadline.NewPolicy(deadline.DefaultPolicyConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, got := p.Deadlines(at(t, "2026-02-13 10:00"), "", "", "")
	if want := at(t, "2026-02-27 10:00"); !got.Equal(want) {
		t.Errorf("replyBy = %v, want %v", got, want)
	}
}

func TestNewPolicyCopiesConfig(t *testing.T) {
	t.Parallel()
	cfg := deadline.DefaultPolicyConfig()
	cfg.Sign.UtilityPrefixes = []string{"0105"}
	p, err := deadline.NewPolicy(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sign.UtilityPrefixes[0] = "99"
	signBy, _ := p.Deadlines(at(t, "2026-03-09 10:00"), "", "", "0105")
	if want := at(t, "2026-03-09 10:30"); !signBy.Equal(want) {
		t.Errorf("signBy = %v, want %v: policy shares the caller's slice", signBy, want)
	}
}

func TestPolicyConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(*deadline.PolicyConfig)
		want   []string
	}{
		{"sign.critical unset", func(c *deadline.PolicyConfig) { c.Sign.Critical = deadline.Limit{} },
			[]string{"sign.critical: required"}},
		{"sign.default both kinds", func(c *deadline.PolicyConfig) { c.Sign.Default.Duration = time.Hour },
			[]string{"sign.default: set either a duration or working days, not both"}},
		{"sign.urgent negative", func(c *deadline.PolicyConfig) { c.Sign.Urgent = deadline.Limit{Duration: -time.Minute} },
			[]string{"sign.urgent: must be positive"}},
		{"empty and repeated utility prefixes", func(c *deadline.PolicyConfig) { c.Sign.UtilityPrefixes = []string{"01", "", "01"} },
			[]string{"sign.utilityPrefixes[1]: empty prefix", `sign.utilityPrefixes[2]: "01" repeats sign.utilityPrefixes[0]`}},
		{"reply.default too long", func(c *deadline.PolicyConfig) { c.Reply.Default = deadline.Limit{WorkingDays: 5000} },
			[]string{"reply.default: at most 1000wd"}},
		{"reply rule problems", func(c *deadline.PolicyConfig) {
			c.Reply.Rules = []deadline.ReplyRule{
				{RequestType: "CONSULTATION", Limit: deadline.Limit{WorkingDays: 3}},
				{Limit: deadline.Limit{WorkingDays: 3}},
				{CategoryPrefix: "01"},
				{RequestType: "consultation", Limit: deadline.Limit{WorkingDays: 4}},
			}
		}, []string{
			"reply.rules[1]: set requestType, categoryPrefix or both",
			"reply.rules[2].limit: required",
			"reply.rules[3]: same requestType and categoryPrefix as reply.rules[0]",
		}},
		{"maxExtensionDays negative", func(c *deadline.PolicyConfig) { c.MaxExtensionDays = -1 },
			[]string{"maxExtensionDays: -1 is not between 0 and 1000"}},
		{"returnWithin unset", func(c *deadline.PolicyConfig) { c.ReturnWithin = deadline.Limit{} },
			[]string{"returnWithin: required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := deadline.DefaultPolicyConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want errors")
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Validate() =\n%v\nwant\n%s", err, strings.Join(tc.want, "\n"))
			}
			var fe *deadline.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("Validate() error is not a *FieldError: %T", err)
			}
			if _, err := deadline.NewPolicy(cfg, nil); err == nil {
				t.Error("NewPolicy accepted an invalid config")
			}
		})
	}
}

func TestPolicyConfigYAML(t *testing.T) {
	t.Parallel()
	const doc = `
sign:
  critical: 10m
  utilityPrefixes: ["0105"]
reply:
  default: 10wd
  rules:
    - {requestType: CONSULTATION, limit: 3wd}
maxExtensionDays: 5
`
	cfg, err := decodePolicyConfig(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	want := deadline.DefaultPolicyConfig()
	want.Sign.Critical = deadline.Limit{Duration: 10 * time.Minute}
	want.Sign.UtilityPrefixes = []string{"0105"}
	want.Reply.Default = deadline.Limit{WorkingDays: 10}
	want.Reply.Rules = []deadline.ReplyRule{{RequestType: "CONSULTATION", Limit: deadline.Limit{WorkingDays: 3}}}
	want.MaxExtensionDays = 5
	if got, err := yaml.Marshal(cfg); err != nil {
		t.Fatal(err)
	} else if wantText, _ := yaml.Marshal(want); !bytes.Equal(got, wantText) {
		t.Errorf("decoded config:\n%s\nwant:\n%s", got, wantText)
	}

	// Marshalled defaults decode back to the defaults.
	text, err := yaml.Marshal(deadline.DefaultPolicyConfig())
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodePolicyConfig(t, string(text))
	if err != nil {
		t.Fatalf("decoding marshalled defaults %s: %v", text, err)
	}
	if again, _ := yaml.Marshal(back); !bytes.Equal(again, text) {
		t.Errorf("round trip changed defaults:\n%s\nwant:\n%s", again, text)
	}
}

func TestPolicyConfigYAMLErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown key", "sign:\n  critcal: 15m", "line 2: field critcal not found"},
		{"unknown rule key", "reply:\n  rules:\n    - {type: CONSULTATION, limit: 3wd}", "field type not found"},
		{"bad limit names value and line", "reply:\n  default: 5d", `line 2: invalid limit "5d"`},
		{"limit as a number", "returnWithin: 2", `line 1: invalid limit "2"`},
		{"limit as a list", "returnWithin: [2wd]", `line 1: a limit is a string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodePolicyConfig(t, tc.doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decode error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
