package intake_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/gateway/intake"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// id18 completes 17 digits with their GB 11643 check character.
func id18(first17 string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}

// idWithCheck returns a valid ID number born on 1990-01-01 in 440106 whose
// check character is c.
func idWithCheck(t testing.TB, c byte) string {
	t.Helper()
	for seq := 100; seq < 1000; seq++ {
		if id := id18("44010619900101" + string(rune('0'+seq/100)) + string(rune('0'+seq/10%10)) + string(rune('0'+seq%10))); id[17] == c {
			return id
		}
	}
	t.Fatalf("no ID number with check character %c", c)
	return ""
}

var validID = id18("44010619900101123")

// request is a valid complaint by phone.
func request() intake.Request {
	return intake.Request{
		Channel:        "PHONE",
		CallerName:     "张三",
		CallerPhone:    "13800138000",
		CallerIDNumber: validID,
		Title:          "预付卡退款",
		Content:        "西饼店倒闭，预付卡无法退款",
		Address:        "广州市天河区体育西路1号",
		RegionCode:     "440106",
		Category:       "0101",
		RequestType:    "COMPLAINT",
	}
}

// normalized is request() normalised.
func normalized() ticket.Ticket {
	return ticket.Ticket{
		Channel:      "PHONE",
		DialedNumber: "12345",
		Caller:       ticket.Caller{Name: "张三", Phone: "13800138000", IDNumber: validID},
		Title:        "预付卡退款",
		Content:      "西饼店倒闭，预付卡无法退款",
		Location:     ticket.Location{Address: "广州市天河区体育西路1号", RegionCode: "440106"},
		Category:     "0101",
		RequestType:  "COMPLAINT",
		Urgency:      ticket.Normal,
	}
}

func TestNormalizeValid(t *testing.T) {
	t.Parallel()
	xID := idWithCheck(t, 'X')
	tests := []struct {
		name string
		edit func(r *intake.Request)
		want func(t *ticket.Ticket)
	}{
		{"as is", func(r *intake.Request) {}, func(t *ticket.Ticket) {}},
		{"surrounding white space trimmed", func(r *intake.Request) {
			r.Channel = " PHONE\t"
			r.Title = "\u3000预付卡退款 \t"
			r.Content = "\r\n  西饼店倒闭，预付卡无法退款\u3000\n"
			r.CallerName = "\ufeff张三 "
			r.Address = " 广州市天河区体育西路1号　"
			r.Category = " 0101 "
		}, func(t *ticket.Ticket) {}},
		{"CRLF and CR become LF", func(r *intake.Request) {
			r.Content = "西饼店倒闭\r\n预付卡无法退款\r店主失联\n\t请尽快处理"
		}, func(t *ticket.Ticket) {
			t.Content = "西饼店倒闭\n预付卡无法退款\n店主失联\n\t请尽快处理"
		}},
		{"title of 100 Chinese characters", func(r *intake.Request) {
			r.Title = strings.Repeat("退", 100)
		}, func(t *ticket.Ticket) { t.Title = strings.Repeat("退", 100) }},
		{"content of 5000 Chinese characters", func(r *intake.Request) {
			r.Content = strings.Repeat("款", 5000)
		}, func(t *ticket.Ticket) { t.Content = strings.Repeat("款", 5000) }},
		{"content counted after CRLF normalisation", func(r *intake.Request) {
			r.Content = strings.Repeat("款", 2500) + "\r\n" + strings.Repeat("款", 2499)
		}, func(t *ticket.Ticket) { t.Content = strings.Repeat("款", 2500) + "\n" + strings.Repeat("款", 2499) }},
		{"name of 50 characters", func(r *intake.Request) {
			r.CallerName = strings.Repeat("张", 50)
		}, func(t *ticket.Ticket) { t.Caller.Name = strings.Repeat("张", 50) }},
		{"address of 200 characters", func(r *intake.Request) {
			r.Address = strings.Repeat("广", 200)
		}, func(t *ticket.Ticket) { t.Location.Address = strings.Repeat("广", 200) }},
		{"anonymous web request", func(r *intake.Request) {
			r.Channel, r.CallerName, r.CallerPhone, r.CallerIDNumber = "WEB", "", "", ""
		}, func(t *ticket.Ticket) { t.Channel, t.Caller = "WEB", ticket.Caller{} }},
		{"phone normalised", func(r *intake.Request) {
			r.CallerPhone = "+86 138 0013 8000"
		}, func(t *ticket.Ticket) {}},
		{"landline", func(r *intake.Request) {
			r.CallerPhone = "(020)8765-4321"
		}, func(t *ticket.Ticket) { t.Caller.Phone = "020-87654321" }},
		{"ID number with lower-case x", func(r *intake.Request) {
			r.CallerIDNumber = strings.ToLower(xID)
		}, func(t *ticket.Ticket) { t.Caller.IDNumber = xID }},
		{"unspecified urgency is NORMAL", func(r *intake.Request) {
			r.Urgency = "URGENCY_UNSPECIFIED"
		}, func(t *ticket.Ticket) {}},
		{"critical", func(r *intake.Request) {
			r.Urgency = "CRITICAL"
		}, func(t *ticket.Ticket) { t.Urgency = ticket.Critical }},
		{"legacy hotline 12315", func(r *intake.Request) {
			r.DialedNumber = "12315"
		}, func(t *ticket.Ticket) { t.DialedNumber = "12315" }},
		{"dialed 110", func(r *intake.Request) {
			r.DialedNumber = "110"
		}, func(t *ticket.Ticket) { t.DialedNumber = "110" }},
		{"dialed 962121", func(r *intake.Request) {
			r.DialedNumber = "962121"
		}, func(t *ticket.Ticket) { t.DialedNumber = "962121" }},
		{"dialed 11 digits", func(r *intake.Request) {
			r.DialedNumber = "02087654321"
		}, func(t *ticket.Ticket) { t.DialedNumber = "02087654321" }},
		{"street region code", func(r *intake.Request) {
			r.RegionCode = "440106001"
		}, func(t *ticket.Ticket) { t.Location.RegionCode = "440106001" }},
		{"community region code", func(r *intake.Request) {
			r.RegionCode = "440106001002"
		}, func(t *ticket.Ticket) { t.Location.RegionCode = "440106001002" }},
		{"no region code or category", func(r *intake.Request) {
			r.RegionCode, r.Category = "", ""
		}, func(t *ticket.Ticket) { t.Location.RegionCode, t.Category = "", "" }},
		{"category of 2 digits", func(r *intake.Request) {
			r.Category = "01"
		}, func(t *ticket.Ticket) { t.Category = "01" }},
		{"category of 6 digits", func(r *intake.Request) {
			r.Category = "010101"
		}, func(t *ticket.Ticket) { t.Category = "010101" }},
		{"category of 12 digits", func(r *intake.Request) {
			r.Category = "010101010101"
		}, func(t *ticket.Ticket) { t.Category = "010101010101" }},
		{"every channel: OPEN311", func(r *intake.Request) {
			r.Channel = "OPEN311"
		}, func(t *ticket.Ticket) { t.Channel = "OPEN311" }},
		{"SMS with phone", func(r *intake.Request) {
			r.Channel = "SMS"
		}, func(t *ticket.Ticket) { t.Channel = "SMS" }},
		{"praise", func(r *intake.Request) {
			r.RequestType = "PRAISE"
		}, func(t *ticket.Ticket) { t.RequestType = "PRAISE" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request()
			tt.edit(&r)
			got, err := intake.Normalize(r)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			want := normalized()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Normalize =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// violations returns the field violations of an Invalid error.
func violations(t *testing.T, err error) []errs.FieldViolation {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		t.Fatalf("error %v (%T) is not an Invalid *errs.Error", err, err)
	}
	return e.Fields
}

func TestNormalizeInvalid(t *testing.T) {
	t.Parallel()
	const channels = "PHONE, WEB, APP, WECHAT, SMS, EMAIL, LETTER, WALK_IN, OPEN311"
	type fv struct{ Field, Description string }
	tests := []struct {
		name string
		edit func(r *intake.Request)
		want []fv
	}{
		{"empty", func(r *intake.Request) { *r = intake.Request{} }, []fv{
			{"channel", "required"}, {"title", "required"}, {"content", "required"}, {"requestType", "required"},
		}},
		{"unspecified enums", func(r *intake.Request) {
			r.Channel, r.RequestType = "CHANNEL_UNSPECIFIED", "REQUEST_TYPE_UNSPECIFIED"
		}, []fv{{"channel", "required"}, {"requestType", "required"}}},
		{"another enum's unspecified", func(r *intake.Request) { r.Urgency = "CHANNEL_UNSPECIFIED" }, []fv{
			{"urgency", `unknown value "CHANNEL_UNSPECIFIED"; one of NORMAL, URGENT, CRITICAL`},
		}},
		{"unknown channel", func(r *intake.Request) { r.Channel = "FOO" }, []fv{
			{"channel", `unknown value "FOO"; one of ` + channels},
		}},
		{"enum names are case-sensitive", func(r *intake.Request) { r.Channel = "phone" }, []fv{
			{"channel", `unknown value "phone"; one of ` + channels},
		}},
		{"long unknown value is cut", func(r *intake.Request) { r.RequestType = strings.Repeat("投诉", 20) }, []fv{
			{"requestType", `unknown value "` + strings.Repeat("投诉", 16) + `"…; one of CONSULTATION, HELP, COMPLAINT, REPORT, SUGGESTION, PRAISE, OTHER`},
		}},
		{"unknown urgency", func(r *intake.Request) { r.Urgency = "HIGH" }, []fv{
			{"urgency", `unknown value "HIGH"; one of NORMAL, URGENT, CRITICAL`},
		}},
		{"phone channel needs a phone", func(r *intake.Request) { r.CallerPhone = " " }, []fv{{"caller.phone", "required"}}},
		{"SMS channel needs a phone", func(r *intake.Request) { r.Channel, r.CallerPhone = "SMS", "" }, []fv{{"caller.phone", "required"}}},
		{"bad phone", func(r *intake.Request) { r.CallerPhone = "12345" }, []fv{
			{"caller.phone", "not a Chinese mobile or landline number"},
		}},
		{"title of 101 Chinese characters", func(r *intake.Request) { r.Title = strings.Repeat("退", 101) }, []fv{
			{"title", "must be at most 100 characters, got 101"},
		}},
		{"white space title", func(r *intake.Request) { r.Title = "\u3000 \t" }, []fv{{"title", "required"}}},
		{"content of 5001 Chinese characters", func(r *intake.Request) { r.Content = strings.Repeat("款", 5001) }, []fv{
			{"content", "must be at most 5000 characters, got 5001"},
		}},
		{"name of 51 characters", func(r *intake.Request) { r.CallerName = strings.Repeat("张", 51) }, []fv{
			{"caller.name", "must be at most 50 characters, got 51"},
		}},
		{"address of 201 characters", func(r *intake.Request) { r.Address = strings.Repeat("广", 201) }, []fv{
			{"location.address", "must be at most 200 characters, got 201"},
		}},
		{"invalid UTF-8", func(r *intake.Request) { r.Title = "预付卡\xff退款" }, []fv{{"title", "not valid UTF-8"}}},
		{"truncated UTF-8", func(r *intake.Request) { r.Content = "预付卡"[:4] }, []fv{{"content", "not valid UTF-8"}}},
		{"NUL in content", func(r *intake.Request) { r.Content = "预付卡\x00退款" }, []fv{
			{"content", "must not contain control character U+0000"},
		}},
		{"C1 control in content", func(r *intake.Request) { r.Content = "预付卡\u0085退款" }, []fv{
			{"content", "must not contain control character U+0085"},
		}},
		{"newline in title", func(r *intake.Request) { r.Title = "预付卡\n退款" }, []fv{
			{"title", "must not contain control character U+000A"},
		}},
		{"tab in name", func(r *intake.Request) { r.CallerName = "张\t三" }, []fv{
			{"caller.name", "must not contain control character U+0009"},
		}},
		{"ID number with wrong check digit", func(r *intake.Request) {
			r.CallerIDNumber = validID[:17] + string("10X98765432"[(strings.IndexByte("10X98765432", validID[17])+1)%11])
		}, []fv{{"caller.idNumber", "not a valid resident ID number: wrong check digit"}}},
		{"legacy 15-digit ID number", func(r *intake.Request) { r.CallerIDNumber = "440106900101123" }, []fv{
			{"caller.idNumber", "not a valid resident ID number: must be 18 characters, got 15"},
		}},
		{"ID number in full-width digits", func(r *intake.Request) { r.CallerIDNumber = "１１０１０５１９４９１２３１００２Ｘ" }, []fv{
			{"caller.idNumber", "not a valid resident ID number: must be 17 digits and a check digit (0-9 or X)"},
		}},
		{"ID number born in month 13", func(r *intake.Request) { r.CallerIDNumber = id18("44010619901301123") }, []fv{
			{"caller.idNumber", "not a valid resident ID number: implausible birth date"},
		}},
		{"dialed number too short", func(r *intake.Request) { r.DialedNumber = "12" }, []fv{{"dialedNumber", "must be 3 to 11 digits"}}},
		{"dialed number too long", func(r *intake.Request) { r.DialedNumber = "123456789012" }, []fv{{"dialedNumber", "must be 3 to 11 digits"}}},
		{"dialed number with letters", func(r *intake.Request) { r.DialedNumber = "1234five" }, []fv{{"dialedNumber", "must be 3 to 11 digits"}}},
		{"region code of 4 digits", func(r *intake.Request) { r.RegionCode = "4401" }, []fv{{"location.regionCode", "must be 6, 9 or 12 digits"}}},
		{"region code of 10 digits", func(r *intake.Request) { r.RegionCode = "4401060010" }, []fv{{"location.regionCode", "must be 6, 9 or 12 digits"}}},
		{"region code with full-width digits", func(r *intake.Request) { r.RegionCode = "４４０１０６" }, []fv{{"location.regionCode", "must be 6, 9 or 12 digits"}}},
		{"category of 3 digits", func(r *intake.Request) { r.Category = "010" }, []fv{{"category", "must be an even number of digits, 2 to 12"}}},
		{"category of 14 digits", func(r *intake.Request) { r.Category = "01010101010101" }, []fv{{"category", "must be an even number of digits, 2 to 12"}}},
		{"category with a letter", func(r *intake.Request) { r.Category = "01a1" }, []fv{{"category", "must be an even number of digits, 2 to 12"}}},
		{"every field at once", func(r *intake.Request) {
			*r = intake.Request{
				Channel: "FAX", DialedNumber: "1", CallerName: strings.Repeat("张", 51), CallerPhone: "abc",
				CallerIDNumber: "123", Title: "", Content: "\x00", Address: "\xc0", RegionCode: "44",
				Category: "1", RequestType: "", Urgency: "SOON",
			}
		}, []fv{
			{"channel", `unknown value "FAX"; one of ` + channels},
			{"dialedNumber", "must be 3 to 11 digits"},
			{"caller.name", "must be at most 50 characters, got 51"},
			{"caller.phone", "not a Chinese mobile or landline number"},
			{"caller.idNumber", "not a valid resident ID number: must be 18 characters, got 3"},
			{"title", "required"},
			{"content", "must not contain control character U+0000"},
			{"location.address", "not valid UTF-8"},
			{"location.regionCode", "must be 6, 9 or 12 digits"},
			{"category", "must be an even number of digits, 2 to 12"},
			{"requestType", "required"},
			{"urgency", `unknown value "SOON"; one of NORMAL, URGENT, CRITICAL`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request()
			tt.edit(&r)
			got, err := intake.Normalize(r)
			if err == nil {
				t.Fatalf("Normalize = %+v, want an error", got)
			}
			if !reflect.DeepEqual(got, ticket.Ticket{}) {
				t.Errorf("Normalize returned %+v with its error, want a zero ticket", got)
			}
			var got2 []fv
			for _, v := range violations(t, err) {
				got2 = append(got2, fv(v))
			}
			if !reflect.DeepEqual(got2, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q", got2, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	fp := func(t *testing.T, r intake.Request) string {
		t.Helper()
		n, err := intake.Normalize(r)
		if err != nil {
			t.Fatalf("Normalize: %v", err)
		}
		return intake.Fingerprint(n)
	}
	base := fp(t, request())

	t.Run("golden", func(t *testing.T) {
		t.Parallel()
		// Stored fingerprints must stay valid across releases: change this only
		// with the encoding's version.
		n := normalized()
		n.Caller.IDNumber = "440106199001011234"
		if got, want := intake.Fingerprint(n), "9926499931d31414671828b91d50f90c612372c239db219397b51be21ff3b9e0"; got != want {
			t.Errorf("Fingerprint = %s, want %s", got, want)
		}
	})

	t.Run("ignores non-intake fields", func(t *testing.T) {
		t.Parallel()
		n := normalized()
		n.ID, n.State, n.Version, n.HandlingUnit = "t1", ticket.Dispatched, 3, "unit"
		if got, want := intake.Fingerprint(n), intake.Fingerprint(normalized()); got != want {
			t.Errorf("Fingerprint = %s, want %s", got, want)
		}
	})

	same := []struct {
		name string
		edit func(r *intake.Request)
	}{
		{"surrounding spaces", func(r *intake.Request) { r.Title, r.CallerName = " 预付卡退款\u3000", "张三\t" }},
		{"default urgency spelt out", func(r *intake.Request) { r.Urgency = "NORMAL" }},
		{"default dialed number spelt out", func(r *intake.Request) { r.DialedNumber = "12345" }},
		{"phone in another form", func(r *intake.Request) { r.CallerPhone = "+86 138-0013-8000" }},
		{"content with CRLF", func(r *intake.Request) { r.Content = "西饼店倒闭，预付卡无法退款\r\n" }},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			t.Parallel()
			r := request()
			tt.edit(&r)
			if got := fp(t, r); got != base {
				t.Errorf("Fingerprint = %s, want %s", got, base)
			}
		})
	}

	t.Run("different", func(t *testing.T) {
		t.Parallel()
		edits := map[string]func(r *intake.Request){
			"channel":             func(r *intake.Request) { r.Channel = "SMS" },
			"dialedNumber":        func(r *intake.Request) { r.DialedNumber = "12315" },
			"caller.name":         func(r *intake.Request) { r.CallerName = "李四" },
			"caller.phone":        func(r *intake.Request) { r.CallerPhone = "13800138001" },
			"caller.idNumber":     func(r *intake.Request) { r.CallerIDNumber = idWithCheck(t, 'X') },
			"no caller.idNumber":  func(r *intake.Request) { r.CallerIDNumber = "" },
			"title":               func(r *intake.Request) { r.Title = "预付卡退款。" },
			"content":             func(r *intake.Request) { r.Content = "西饼店倒闭，预付卡无法退款！" },
			"location.address":    func(r *intake.Request) { r.Address = "广州市天河区体育西路2号" },
			"location.regionCode": func(r *intake.Request) { r.RegionCode = "440104" },
			"category":            func(r *intake.Request) { r.Category = "010101" },
			"requestType":         func(r *intake.Request) { r.RequestType = "REPORT" },
			"urgency":             func(r *intake.Request) { r.Urgency = "URGENT" },
			// Text moved from one field to its neighbour.
			"title/content boundary": func(r *intake.Request) {
				r.Title, r.Content = "预付卡退款西", "饼店倒闭，预付卡无法退款"
			},
			"no caller.name": func(r *intake.Request) { r.CallerName = "" },
		}
		seen := map[string]string{base: "base"}
		for name, edit := range edits {
			r := request()
			edit(&r)
			got := fp(t, r)
			if prev, dup := seen[got]; dup {
				t.Errorf("%s: same fingerprint as %s", name, prev)
			}
			seen[got] = name
		}
	})
}

// fields are the JSON paths of Request's fields, in violation order.
var fields = map[string]bool{
	"channel": true, "dialedNumber": true, "caller.name": true, "caller.phone": true,
	"caller.idNumber": true, "title": true, "content": true, "location.address": true,
	"location.regionCode": true, "category": true, "requestType": true, "urgency": true,
}

// requestOf turns a normalised ticket back into a request.
func requestOf(t ticket.Ticket) intake.Request {
	return intake.Request{
		Channel: string(t.Channel), DialedNumber: t.DialedNumber,
		CallerName: t.Caller.Name, CallerPhone: t.Caller.Phone, CallerIDNumber: t.Caller.IDNumber,
		Title: t.Title, Content: t.Content, Address: t.Location.Address, RegionCode: t.Location.RegionCode,
		Category: t.Category, RequestType: string(t.RequestType), Urgency: string(t.Urgency),
	}
}

func FuzzNormalize(f *testing.F) {
	add := func(r intake.Request) {
		f.Add(r.Channel, r.DialedNumber, r.CallerName, r.CallerPhone, r.CallerIDNumber, r.Title, r.Content,
			r.Address, r.RegionCode, r.Category, r.RequestType, r.Urgency)
	}
	add(request())
	add(intake.Request{})
	add(intake.Request{Channel: "WEB", Title: " 噪音扰民 ", Content: "夜间施工\r\n噪音很大\x00", CallerPhone: "(0755)12345678",
		RequestType: "REPORT", Urgency: "URGENT", Category: "010", RegionCode: "440106001", DialedNumber: "12315"})
	add(intake.Request{Channel: "SMS", Title: strings.Repeat("退", 101), Content: "\xff", CallerPhone: "+86 20 8765 4321",
		CallerIDNumber: strings.ToLower(idWithCheck(f, 'X')), RequestType: "HELP"})

	lengths := map[string]int{"caller.name": intake.MaxNameChars, "title": intake.MaxTitleChars,
		"content": intake.MaxContentChars, "location.address": intake.MaxAddressChars}
	f.Fuzz(func(t *testing.T, channel, dialed, name, phone, idNumber, title, content, address, region, category, requestType, urgency string) {
		r := intake.Request{Channel: channel, DialedNumber: dialed, CallerName: name, CallerPhone: phone,
			CallerIDNumber: idNumber, Title: title, Content: content, Address: address, RegionCode: region,
			Category: category, RequestType: requestType, Urgency: urgency}
		got, err := intake.Normalize(r)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid {
				t.Fatalf("error %v (%T) is not an Invalid *errs.Error", err, err)
			}
			if len(e.Fields) == 0 {
				t.Fatalf("Invalid error without violations: %v", err)
			}
			for _, v := range e.Fields {
				if !fields[v.Field] {
					t.Errorf("violation of unknown field %q: %s", v.Field, v.Description)
				}
				if v.Description == "" || !utf8.ValidString(v.Description) {
					t.Errorf("violation of %s: bad description %q", v.Field, v.Description)
				}
			}
			return
		}
		out := requestOf(got)
		check := map[string]string{
			"channel": out.Channel, "dialedNumber": out.DialedNumber, "caller.name": out.CallerName,
			"caller.phone": out.CallerPhone, "caller.idNumber": out.CallerIDNumber, "title": out.Title,
			"content": out.Content, "location.address": out.Address, "location.regionCode": out.RegionCode,
			"category": out.Category, "requestType": out.RequestType, "urgency": out.Urgency,
		}
		for field, s := range check {
			if !utf8.ValidString(s) {
				t.Errorf("%s = %q: not valid UTF-8", field, s)
			}
			if max, ok := lengths[field]; ok && utf8.RuneCountInString(s) > max {
				t.Errorf("%s has %d characters, more than %d", field, utf8.RuneCountInString(s), max)
			}
			if strings.TrimSpace(s) != s {
				t.Errorf("%s = %q: not trimmed", field, s)
			}
			for _, c := range s {
				if unicode.IsControl(c) && !(field == "content" && (c == '\n' || c == '\t')) {
					t.Errorf("%s = %q: control character %U", field, s, c)
				}
			}
		}
		if got.Title == "" || got.Content == "" || got.Channel == "" || got.RequestType == "" || got.Urgency == "" || got.DialedNumber == "" {
			t.Errorf("a required field is empty: %+v", got)
		}
		if (got.Channel == "PHONE" || got.Channel == "SMS") && got.Caller.Phone == "" {
			t.Errorf("channel %s without a phone", got.Channel)
		}
		// Normalising is idempotent, and so is the fingerprint.
		again, err := intake.Normalize(out)
		if err != nil {
			t.Fatalf("Normalize(Normalize(r)) failed: %v", err)
		}
		if !reflect.DeepEqual(again, got) {
			t.Errorf("Normalize(Normalize(r)) =\n%+v\nwant\n%+v", again, got)
		}
		if intake.Fingerprint(again) != intake.Fingerprint(got) {
			t.Error("fingerprint changed on normalising again")
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	r := request()
	r.CallerPhone = "+86 138 0013 8000"
	r.Content = "西饼店倒闭，预付卡无法退款。\r\n店主已失联，请相关部门尽快处理。"
	b.ReportAllocs()
	for b.Loop() {
		t, err := intake.Normalize(r)
		if err != nil {
			b.Fatal(err)
		}
		_ = intake.Fingerprint(t)
	}
}
