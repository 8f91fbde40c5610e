package deadline

import (
	"fmt"
	"strings"
	"time"
)

// Urgency values understood by [Policy.Deadlines]. Any other value,
// including "", is treated as [UrgencyNormal]. Comparison ignores case.
const (
	UrgencyNormal   = "NORMAL"
	UrgencyUrgent   = "URGENT"   // e.g. large-scale loss of water or power
	UrgencyCritical = "CRITICAL" // risk to life or property
)

// PolicyConfig holds the configurable limits. Decode YAML into the result
// of [DefaultPolicyConfig] so that keys left out keep their defaults, then
// call [NewPolicy] (which validates). Keys are lowerCamelCase:
//
//	sign:
//	  critical: 15m
//	  urgent: 30m
//	  utilityPrefixes: ["0105"]
//	  default: 1wd
//	reply:
//	  default: 5wd
//	  rules:
//	    - {requestType: CONSULTATION, limit: 3wd}
//	    - {categoryPrefix: "0301", limit: 10wd}
//	maxExtensionDays: 10
//	returnWithin: 2wd
type PolicyConfig struct {
	// Sign sets how soon the handling unit must sign for (签收) a work
	// order after dispatch.
	Sign SignConfig `yaml:"sign"`
	// Reply sets how soon the handling unit must handle and reply to
	// (办理回复) a work order after dispatch.
	Reply ReplyConfig `yaml:"reply"`
	// MaxExtensionDays is the most working days one request may be extended
	// by (延期); 0 disables extensions. Default 10 (Shandong).
	MaxExtensionDays int `yaml:"maxExtensionDays"`
	// ReturnWithin is how long after dispatch a unit may return (退单) an
	// order that is not within its duties. Default 2wd (Shandong).
	ReturnWithin Limit `yaml:"returnWithin"`
}

// SignConfig sets the sign-for limits, counted from dispatch. The first
// that applies wins: Critical, then Urgent, then Default.
type SignConfig struct {
	// Critical applies to urgency CRITICAL (诉求可能危及生命财产安全).
	// Default 15m (Tianjin).
	Critical Limit `yaml:"critical"`
	// Urgent applies to urgency URGENT and to categories that match
	// UtilityPrefixes. Default 30m (Tianjin).
	Urgent Limit `yaml:"urgent"`
	// UtilityPrefixes are category-code prefixes of basic utilities
	// (水电气热等基本民生保障) that get the Urgent limit whatever the
	// urgency. Default none.
	UtilityPrefixes []string `yaml:"utilityPrefixes"`
	// Default applies to everything else (一般诉求). Default 1wd (Tianjin).
	Default Limit `yaml:"default"`
}

// ReplyConfig sets the reply limit, counted from dispatch. The most
// specific matching rule wins; if none matches, Default applies.
type ReplyConfig struct {
	// Default applies when no rule matches. Default 5wd (Shandong).
	Default Limit `yaml:"default"`
	// Rules override Default. Default none.
	Rules []ReplyRule `yaml:"rules"`
}

// ReplyRule sets the reply limit for a request type, a category prefix, or
// both (a rule matches when everything it sets matches). Specificity: a
// longer CategoryPrefix beats a shorter one, any CategoryPrefix beats
// RequestType alone, and with equal prefixes a rule that also sets
// RequestType wins.
type ReplyRule struct {
	// RequestType such as "CONSULTATION" or "COMPLAINT"; case is ignored.
	RequestType string `yaml:"requestType"`
	// CategoryPrefix is matched against the start of the category code.
	CategoryPrefix string `yaml:"categoryPrefix"`
	// Limit is the reply limit, e.g. 3wd.
	Limit Limit `yaml:"limit"`
}

// DefaultPolicyConfig returns the defaults taken from
// shared/domain/time-limits.csv: sign-for 15m (critical), 30m (urgent or
// utility), 1wd otherwise (Tianjin 2024); reply 5wd, at most 10 working
// days of extension, return within 2wd (Shandong 2020).
func DefaultPolicyConfig() PolicyConfig {
	return PolicyConfig{
		Sign: SignConfig{
			Critical: Limit{Duration: 15 * time.Minute},
			Urgent:   Limit{Duration: 30 * time.Minute},
			Default:  Limit{WorkingDays: 1},
		},
		Reply:            ReplyConfig{Default: Limit{WorkingDays: 5}},
		MaxExtensionDays: 10,
		ReturnWithin:     Limit{WorkingDays: 2},
	}
}

// Validate checks the configuration. It returns nil or [FieldError] values
// joined with [errors.Join], one per line. Paths are relative to
// PolicyConfig, such as "reply.rules[2].limit"; a caller that nests the
// config under a key (say "deadlines") prefixes that key to each line.
func (c PolicyConfig) Validate() error {
	var errs fieldErrors
	limit := func(path string, l Limit) {
		if err := l.validate(); err != nil {
			errs.add(path, "%v", err)
		}
	}
	limit("sign.critical", c.Sign.Critical)
	limit("sign.urgent", c.Sign.Urgent)
	limit("sign.default", c.Sign.Default)
	seenPrefix := map[string]int{}
	for i, p := range c.Sign.UtilityPrefixes {
		path := fmt.Sprintf("sign.utilityPrefixes[%d]", i)
		if j, dup := seenPrefix[p]; dup {
			errs.add(path, "%q repeats sign.utilityPrefixes[%d]", p, j)
		} else if p == "" {
			errs.add(path, "empty prefix")
		}
		seenPrefix[p] = i
	}
	limit("reply.default", c.Reply.Default)
	seenRule := map[string]int{}
	for i, r := range c.Reply.Rules {
		path := fmt.Sprintf("reply.rules[%d]", i)
		key := strings.ToUpper(r.RequestType) + "\x00" + r.CategoryPrefix
		if r.RequestType == "" && r.CategoryPrefix == "" {
			errs.add(path, "set requestType, categoryPrefix or both")
		} else if j, dup := seenRule[key]; dup {
			errs.add(path, "same requestType and categoryPrefix as reply.rules[%d]", j)
		}
		seenRule[key] = i
		limit(path+".limit", r.Limit)
	}
	if c.MaxExtensionDays < 0 || c.MaxExtensionDays > maxWorkingDays {
		errs.add("maxExtensionDays", "%d is not between 0 and %d", c.MaxExtensionDays, maxWorkingDays)
	}
	limit("returnWithin", c.ReturnWithin)
	return errs.err()
}

// Policy computes the deadlines of work orders. Build it with [NewPolicy];
// it is immutable and safe for concurrent use.
type Policy struct {
	cfg PolicyConfig // validated, slices owned
	cal *Calendar
}

// NewPolicy validates cfg and returns a Policy that counts working days
// with cal; a nil cal means [DefaultCalendar].
func NewPolicy(cfg PolicyConfig, cal *Calendar) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cal == nil {
		cal = DefaultCalendar()
	}
	cfg.Sign.UtilityPrefixes = append([]string(nil), cfg.Sign.UtilityPrefixes...)
	cfg.Reply.Rules = append([]ReplyRule(nil), cfg.Reply.Rules...)
	return &Policy{cfg: cfg, cal: cal}, nil
}

// Deadlines returns when a work order dispatched at at must be signed for
// and replied to, given its urgency (see [UrgencyCritical]), request type
// and category code. Wall-clock limits ignore holidays; working-day limits
// follow [Calendar.AddWorkingDays].
func (p *Policy) Deadlines(at time.Time, urgency, requestType, category string) (signBy, replyBy time.Time) {
	return p.signLimit(urgency, category).after(p.cal, at),
		p.replyLimit(requestType, category).after(p.cal, at)
}

func (p *Policy) signLimit(urgency, category string) Limit {
	s := p.cfg.Sign
	switch {
	case strings.EqualFold(urgency, UrgencyCritical):
		return s.Critical
	case strings.EqualFold(urgency, UrgencyUrgent):
		return s.Urgent
	}
	for _, prefix := range s.UtilityPrefixes {
		if strings.HasPrefix(category, prefix) {
			return s.Urgent
		}
	}
	return s.Default
}

func (p *Policy) replyLimit(requestType, category string) Limit {
	best, bestScore := p.cfg.Reply.Default, -1
	for _, r := range p.cfg.Reply.Rules {
		if r.RequestType != "" && !strings.EqualFold(r.RequestType, requestType) ||
			!strings.HasPrefix(category, r.CategoryPrefix) {
			continue
		}
		// A prefix byte outweighs the request type; Validate rules out ties.
		score := 2 * len(r.CategoryPrefix)
		if r.RequestType != "" {
			score++
		}
		if score > bestScore {
			best, bestScore = r.Limit, score
		}
	}
	return best
}

// Extend returns replyBy moved days working days later. It fails with an
// error wrapping [ErrExtension] unless 1 <= days <= MaxExtensionDays. The
// limit is per request: a caller that allows several extensions must check
// their sum against [Policy.MaxExtensionDays].
func (p *Policy) Extend(replyBy time.Time, days int) (time.Time, error) {
	switch max := p.cfg.MaxExtensionDays; {
	case max == 0:
		return time.Time{}, fmt.Errorf("%w: extensions are disabled", ErrExtension)
	case days < 1 || days > max:
		return time.Time{}, fmt.Errorf("%w: %d working days requested, allowed 1 to %d", ErrExtension, days, max)
	}
	return p.cal.AddWorkingDays(replyBy, days), nil
}

// MaxExtensionDays returns the most working days a request may be
// extended by in total.
func (p *Policy) MaxExtensionDays() int { return p.cfg.MaxExtensionDays }

// ReturnBy returns until when the unit may return (退单) a work order
// dispatched at dispatchedAt.
func (p *Policy) ReturnBy(dispatchedAt time.Time) time.Time {
	return p.cfg.ReturnWithin.after(p.cal, dispatchedAt)
}
