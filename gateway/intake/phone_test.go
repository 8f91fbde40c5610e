package intake_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/gateway/intake"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		err      string // a substring of the error, if one is expected
	}{
		// Mobiles.
		{in: "13800138000", want: "13800138000"},
		{in: "19912345678", want: "19912345678"},
		{in: "+86 138 0013 8000", want: "13800138000"},
		{in: "+8613800138000", want: "13800138000"},
		{in: "0086 138 0013 8000", want: "13800138000"},
		{in: "8613800138000", want: "13800138000"},
		{in: "138-0013-8000", want: "13800138000"},
		{in: "(+86) 138 0013 8000", want: "13800138000"},
		{in: "\u300013800138000 ", want: "13800138000"},
		{in: "１３８００１３８０００", want: "13800138000"},
		{in: "＋８６ １３８ ００１３ ８０００", want: "13800138000"},
		{in: "013800138000", want: "13800138000"}, // trunk 0, as dialled from another city
		// Landlines.
		{in: "020-87654321", want: "020-87654321"},
		{in: "02087654321", want: "020-87654321"},
		{in: "(020) 8765 4321", want: "020-87654321"},
		{in: "（０２０）８７６５４３２１", want: "020-87654321"},
		{in: "010-62345678", want: "010-62345678"},
		{in: "０１０－６２３４５６７８", want: "010-62345678"},
		{in: "(0755)22345678", want: "0755-22345678"},
		{in: "0755 – 2234 5678", want: "0755-22345678"},
		{in: "0755-2234567", want: "0755-2234567"},
		{in: "0431-81234567", want: "0431-81234567"},
		{in: "+86 20 8765 4321", want: "020-87654321"},
		{in: "+86 10 6234 5678", want: "010-62345678"},
		{in: "+86 (0)755 2234 5678", want: "0755-22345678"},
		{in: "0086 755 22345678", want: "0755-22345678"},
		// Service numbers.
		{in: "4008001234", want: "4008001234"},
		{in: "400-800-1234", want: "4008001234"},
		{in: "800 820 8820", want: "8008208820"},
		// Not phone numbers.
		{in: "", err: "no digits"},
		{in: " - ", err: "no digits"},
		{in: "+86", err: "no digits"},
		{in: "12345", err: "mobile numbers have 11 digits, got 5"},
		{in: "1380013800", err: "mobile numbers have 11 digits, got 10"},
		{in: "138001380001", err: "mobile numbers have 11 digits, got 12"},
		{in: "12800138000", err: "no mobile numbers start with 12"},
		{in: "02012345", err: "local numbers have 7 or 8 digits, got 5"},
		{in: "020-876543210", err: "local numbers have 7 or 8 digits, got 9"},
		{in: "020-87654321-123", err: "local numbers have 7 or 8 digits, got 11"},
		{in: "０１０－１２３４５６７８", err: "do not start with 0 or 1"},
		{in: "020-07654321", err: "do not start with 0 or 1"},
		{in: "(0755)12345678", err: "do not start with 0 or 1"},
		{in: "011-62345678", err: "unknown area code 0116"},
		{in: "0", err: "unknown area code 0"},
		{in: "87654321", err: "needs its area code"},
		{in: "400800123", err: "400 numbers have 10 digits, got 9"},
		{in: "abc", err: "unexpected character 'a'"},
		{in: "138OO138000", err: "unexpected character 'O'"},
		{in: "138\x0000138000", err: "unexpected character"},
		{in: "138.0013.8000", err: "unexpected character '.'"},
		{in: "1+3800138000", err: "'+' is only allowed at the start"},
		{in: "++8613800138000", err: "'+' is only allowed at the start"},
		{in: "+1 415 555 0100", err: "country code is not 86"},
		{in: "0044 20 7946 0958", err: "country code is not 86"},
		{in: strings.Repeat("1", 17), err: "too many digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := intake.NormalizePhone(tt.in)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("NormalizePhone(%q): %v", tt.in, err)
			case tt.err == "" && got != tt.want:
				t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
			case tt.err != "" && err == nil:
				t.Errorf("NormalizePhone(%q) = %q, want an error", tt.in, got)
			case tt.err != "" && !strings.Contains(err.Error(), tt.err):
				t.Errorf("NormalizePhone(%q): %v, want an error with %q", tt.in, err, tt.err)
			}
		})
	}
}

func TestNormalizePhoneAllocs(t *testing.T) {
	for _, s := range []string{"13800138000", "020-87654321", "4008001234"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = intake.NormalizePhone(s) }); n != 0 {
			t.Errorf("NormalizePhone(%q) allocates %v times, want 0 for a canonical number", s, n)
		}
	}
}

var canonicalPhone = regexp.MustCompile(`^(?:1[3-9]\d{9}|0(?:10|2\d|[3-9]\d\d)-[2-9]\d{6,7}|(?:400|800)\d{7})$`)

// FuzzPhone is FuzzNormalizePhone by another name: "go test -fuzz=FuzzNormalize"
// must match only FuzzNormalize.
func FuzzPhone(f *testing.F) {
	for _, s := range []string{"13800138000", "+86 138 0013 8000", "０１０－６２３４５６７８", "(0755)12345678",
		"(0755)22345678", "4008001234", "+86 10 6234 5678", "013800138000", "12345", "02012345", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := intake.NormalizePhone(s)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("NormalizePhone(%q): empty error", s)
			}
			return
		}
		if !canonicalPhone.MatchString(got) {
			t.Errorf("NormalizePhone(%q) = %q, not canonical", s, got)
		}
		again, err := intake.NormalizePhone(got)
		if err != nil || again != got {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q again", got, again, err, got)
		}
		if m := intake.MaskPhone(s); utf8.RuneCountInString(m) != len(got) || strings.Contains(m, got) {
			t.Errorf("MaskPhone(%q) = %q", s, m)
		}
	})
}

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"13800138000", "138****8000"},
		{"+86 138 0013 8000", "138****8000"},
		{"020-87654321", "020-****4321"},
		{"(0755)22345678", "0755-****5678"},
		{"0755-2234567", "0755-***4567"},
		{"4008001234", "400***1234"},
		{"", ""},
		{"12345", "*****"},
		{"abcdefgh", "****efgh"},
		{"张三李四王五", "******"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := intake.MaskPhone(tt.in); got != tt.want {
				t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidIDNumber(t *testing.T) {
	t.Parallel()
	chinaNow := time.Now().In(time.FixedZone("CST", 8*60*60))
	date := func(d time.Time) string { return d.Format("20060102") }
	valid := id18("44010619900101123")
	wrong := valid[:17] + map[bool]string{true: "0", false: "1"}[valid[17] != '0']
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"GB 11643 example", "11010519491231002X", true},
		{"lower-case x", "11010519491231002x", true},
		{"computed", valid, true},
		{"another region", id18("31011519850615444"), true},
		{"born 1900-01-01", id18("11010519000101002"), true},
		{"born on 29 February of a leap year", id18("11010520000229002"), true},
		{"born yesterday", id18("110105" + date(chinaNow.AddDate(0, 0, -1)) + "002"), true},
		{"wrong check digit", wrong, false},
		{"GB 11643 example with a wrong check digit", "110105194912310021", false},
		{"legacy 15 digits", "110105491231002", false},
		{"17 digits", valid[:17], false},
		{"19 digits", valid + "1", false},
		{"empty", "", false},
		{"X in the middle", "1101051949123100X2", false},
		{"letter", "11010519491231A02X", false},
		{"full-width digits", "１１０１０５１９４９１２３１００２Ｘ", false},
		{"born 1899", id18("11010518991231002"), false},
		{"born in month 00", id18("11010519900001002"), false},
		{"born on 30 February", id18("11010519900230002"), false},
		{"born on 29 February 1900", id18("11010519000229002"), false},
		{"born on day 32", id18("11010519900132002"), false},
		{"born next year", id18("110105" + date(chinaNow.AddDate(1, 0, 0)) + "002"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := intake.ValidIDNumber(tt.in); got != tt.want {
				t.Errorf("ValidIDNumber(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskIDNumber(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"11010519491231002X", "110105********002X"},
		{"110105491231002", "110105*****1002"},
		{"", ""},
		{"1234567890", "**********"},
		{"1234567890123", "123456***0123"},
		{"张三", "**"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := intake.MaskIDNumber(tt.in); got != tt.want {
				t.Errorf("MaskIDNumber(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
