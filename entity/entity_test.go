package entity

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2019, 10, 28, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// find returns the entities of type t that Extract finds in text.
func find(text string, t Type, opts Options) []Entity {
	var out []Entity
	for _, e := range Extract(text, opts) {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

type want struct{ text, value string }

func check(t *testing.T, text string, typ Type, opts Options, wants []want) {
	t.Helper()
	got := find(text, typ, opts)
	if len(got) != len(wants) {
		t.Fatalf("Extract(%q) %s = %+v, want %d: %+v", text, typ, got, len(wants), wants)
	}
	for i, w := range wants {
		if got[i].Text != w.text || got[i].Value != w.value {
			t.Errorf("Extract(%q) %s[%d] = %q (value %q), want %q (value %q)", text, typ, i, got[i].Text, got[i].Value, w.text, w.value)
		}
	}
}

func TestPhones(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []want
	}{
		{"mobile", "我的电话13800138000谢谢", []want{{"13800138000", "13800138000"}}},
		{"mobile with spaces", "手机 138 0013 8000。", []want{{"138 0013 8000", "13800138000"}}},
		{"mobile with dashes", "请回电138-0013-8000", []want{{"138-0013-8000", "13800138000"}}},
		{"full-width", "联系：１３８００１３８０００", []want{{"１３８００１３８０００", "13800138000"}}},
		{"plus 86", "+8613800138000", []want{{"+8613800138000", "13800138000"}}},
		{"landline", "电话0914-2830368，", []want{{"0914-2830368", "0914-2830368"}}},
		{"landline 3-digit code", "拨打020-87654321", []want{{"020-87654321", "020-87654321"}}},
		{"landline em dash", "0473—2215683", []want{{"0473—2215683", "0473-2215683"}}},
		{"service", "客服4008001234", []want{{"4008001234", "4008001234"}}},
		{"local after cue", "城管局电话2389234", []want{{"2389234", "2389234"}}},
		{"anonymised after cue", "校长：卢彬，电话：0000-00000000 希望", []want{{"0000-00000000", "000000000000"}}},
		{"short hotline", "打12345和110都没用", nil},
		{"inside email", "发至15106721950@163.com", nil},
		{"document number", "第13015644270号", nil},
		{"not a local number without cue", "共2389234人", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check(t, tt.text, Phone, Options{}, tt.want)
		})
	}
}

func TestPhoneMasked(t *testing.T) {
	t.Parallel()
	got := find("电话13800138000", Phone, Options{})
	if len(got) != 1 || got[0].Masked != "138****8000" {
		t.Fatalf("got %+v, want masked 138****8000", got)
	}
	got = find("电话020-87654321", Phone, Options{})
	if len(got) != 1 || got[0].Masked != "020-****4321" {
		t.Fatalf("got %+v, want masked 020-****4321", got)
	}
}

func TestIDNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []want
		masked     string
	}{
		{"resident", "身份证号440106199001011234。", nil, ""},
		{"resident valid", "身份证号11010519491231002X，", []want{{"11010519491231002X", "11010519491231002X"}}, "110105********002X"},
		{"lower-case x", "11010519491231002x", []want{{"11010519491231002x", "11010519491231002X"}}, "110105********002X"},
		{"old 15-digit", "身份证130503670401001", []want{{"130503670401001", "130503670401001"}}, "130503*****1001"},
		{"credit code", "统一社会信用代码91350100M000100Y43", []want{{"91350100M000100Y43", "91350100M000100Y43"}}, "913501********0Y43"},
		{"bank card", "银行卡号6222021234567890128", []want{{"6222021234567890128", "6222021234567890128"}}, "622202*********0128"},
		{"card-like without Luhn", "卡号6222021234567890121", nil, ""},
		{"birth date in the future", "110105204912310028", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{Now: now}
			check(t, tt.text, IDNumber, opts, tt.want)
			if tt.masked != "" {
				if got := find(tt.text, IDNumber, opts); got[0].Masked != tt.masked {
					t.Errorf("Masked = %q, want %q", got[0].Masked, tt.masked)
				}
			}
		})
	}
}

func TestIDNumberNeverLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	for _, e := range Extract("身份证号11010519491231002X", Options{}) {
		log.Info("entity", "entity", e)
	}
	if strings.Contains(buf.String(), "19491231") || !strings.Contains(buf.String(), "110105********002X") {
		t.Fatalf("log = %q: the ID number must appear masked only", buf.String())
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []want
	}{
		{"full", "2019年5月1日去的", []want{{"2019年5月1日", "2019-05-01"}}},
		{"iso", "于2019-05-01投诉", []want{{"2019-05-01", "2019-05-01"}}},
		{"dotted", "2018.9.10出台", []want{{"2018.9.10", "2018-09-10"}}},
		{"month day, this year", "5月1日开始", []want{{"5月1日", "2019-05-01"}}},
		{"month day with 号", "8月10号补课", []want{{"8月10号", "2019-08-10"}}},
		{"month day, last year", "12月6号停止", []want{{"12月6号", "2018-12-06"}}},
		{"last year's December", "去年12月买的", []want{{"去年12月", "2018-12"}}},
		{"this year's March", "今年3月起", []want{{"今年3月", "2019-03"}}},
		{"last week", "上周打过电话", []want{{"上周", "2019-W43"}}},
		{"yesterday", "昨天停水", []want{{"昨天", "2019-10-27"}}},
		{"before the Spring Festival", "春节前装的", []want{{"春节前", "2019-02-05"}}},
		{"two-digit year", "19年7月份买房", []want{{"19年7月份", "2019-07"}}},
		{"year", "2015年我来", []want{{"2015年", "2015"}}},
		{"year end", "2018年年底前", []want{{"2018年年底", "2018-12"}}},
		{"chinese month and day", "二月十五日就没有了", []want{{"二月十五日", "2019-02-15"}}},
		{"range of days", "2022年2月9号到15号停气", []want{{"2022年2月9号", "2022-02-09"}, {"15号", "2022-02-15"}}},
		{"range of years", "2015-2019年的数据", []want{{"2015-2019年", "2015/2019"}}},
		{"lunar", "正月初六停暖", []want{{"正月初六", "2019-02-10"}}},
		{"duration is not a date", "已修建10年，三个月了", nil},
		{"months as duration", "等了3个月", nil},
		{"time of day", "晚上10点", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check(t, tt.text, Date, Options{Now: now}, tt.want)
		})
	}
}

func TestDatesWithoutNow(t *testing.T) {
	t.Parallel()
	check(t, "昨天和5月1日，2019年5月1日", Date, Options{}, []want{{"昨天", ""}, {"5月1日", ""}, {"2019年5月1日", "2019-05-01"}})
}

func TestAmounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []want
	}{
		{"yuan", "收了1200元", []want{{"1200元", "1200"}}},
		{"thousands comma", "共1,200元", []want{{"1,200元", "1200"}}},
		{"chinese numerals", "花了一千二百元", []want{{"一千二百元", "1200"}}},
		{"wan", "赔偿1.2万元", []want{{"1.2万元", "12000"}}},
		{"wan and more", "损失3万多元", []want{{"3万多元", "30000"}}},
		{"kuai", "五百块", []want{{"五百块", "500"}}},
		{"kuai qian", "两块钱一个", []want{{"两块钱", "2"}}},
		{"yen sign", "￥300", []want{{"￥300", "300"}}},
		{"decimals", "电价0.4983元/度", []want{{"0.4983元", "0.4983"}}},
		{"fen", "1分钱都没有", []want{{"1分钱", "0.01"}}},
		{"range", "收取1——5元", []want{{"1——5元", "1-5"}}},
		{"range with magnitude", "花费2—3千元打井", []want{{"2—3千元", "2000-3000"}}},
		{"bare after a money word", "补课收费1980，罚款200", []want{{"1980", "1980"}, {"200", "200"}}},
		{"wan after a money word", "销售收入6800万", []want{{"6800万", "68000000"}}},
		{"vague", "好几千元办证费", []want{{"几千元", ""}}},
		{"a piece of land", "一块地", nil},
		{"not money", "3万平方米，30万人", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check(t, tt.text, Amount, Options{}, tt.want)
		})
	}
}

func TestLocations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []Entity // Type and Text only
	}{
		{"address with building and room", "座落在A市A3区联丰路米兰春天G2栋320，一家", []Entity{{Type: Address, Text: "A市A3区联丰路米兰春天G2栋320"}}},
		{"village address", "我是福临镇冯家坡村菜水塘组100号的村民", []Entity{{Type: Address, Text: "福临镇冯家坡村菜水塘组100号"}}},
		{"region only is a place", "在西地省L市L6县蒲稳乡收取快递", []Entity{{Type: Place, Text: "西地省L市L6县蒲稳乡"}}},
		{"estate", "桔园小区物业不作为", []Entity{{Type: Place, Text: "桔园小区"}}},
		{"road", "占用劳动东路道路", []Entity{{Type: Place, Text: "劳动东路"}}},
		{"landmark with region is a place", "本人是J5县汽车南站的", []Entity{{Type: Place, Text: "J5县汽车南站"}}},
		{"organisation with region", "请K8县环保局和工商局处理", []Entity{{Type: Organisation, Text: "K8县环保局"}, {Type: Organisation, Text: "工商局"}}},
		{"company", "全名西地省乐津金粮油有限责任公司，", []Entity{{Type: Organisation, Text: "西地省乐津金粮油有限责任公司"}}},
		{"generic mentions", "我在超市买的，物业公司和政府都不管，学校也不管", nil},
		{"government of a county", "M3县政府的无能", []Entity{{Type: Organisation, Text: "M3县政府"}}},
		{"generic road and city words", "修建水泥路，城市道路，农村", nil},
		{"gazetteer", "住在东郊御景的住户", []Entity{{Type: Place, Text: "东郊御景"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{}
			if tt.name == "gazetteer" {
				opts.Places = []string{"东郊御景"}
			}
			var got []Entity
			for _, e := range Extract(tt.text, opts) {
				if e.Type == Address || e.Type == Place || e.Type == Organisation {
					got = append(got, Entity{Type: e.Type, Text: e.Text})
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Extract(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Extract(%q)[%d] = %+v, want %+v", tt.text, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFill(t *testing.T) {
	t.Parallel()
	text := "我是商洛市东新路天骄国际小区业主陈永生，电话13918882129，另一个电话0914-2687835。2019年5月1日起物业断电，" +
		"找到商洛奥翔物业服务责任有限公司和市信访局，身份证号11010519491231002X，损失2000元。商州区也管不了。"
	f := Fill(Extract(text, Options{Now: now}))
	if f.CallerPhone != "13918882129" || len(f.Phones) != 2 {
		t.Errorf("phones = %q %q", f.CallerPhone, f.Phones)
	}
	if f.Address != "商洛市东新路天骄国际小区" {
		t.Errorf("Address = %q", f.Address)
	}
	if strings.Join(f.RegionHints, ",") != "商洛市,商州区" {
		t.Errorf("RegionHints = %q", f.RegionHints)
	}
	if f.IDNumber != "11010519491231002X" || f.IDNumberMasked != "110105********002X" {
		t.Errorf("IDNumber = %q (%q)", f.IDNumber, f.IDNumberMasked)
	}
	if strings.Join(f.Organisations, ",") != "商洛奥翔物业服务责任有限公司,市信访局" {
		t.Errorf("Organisations = %q", f.Organisations)
	}
	if strings.Join(f.Dates, ",") != "2019-05-01" || strings.Join(f.Amounts, ",") != "2000" {
		t.Errorf("Dates = %q, Amounts = %q", f.Dates, f.Amounts)
	}
}

func TestOffsetsAreRunes(t *testing.T) {
	t.Parallel()
	text := "我在西安市雁塔区电话13800138000"
	r := []rune(text)
	for _, e := range Extract(text, Options{}) {
		if string(r[e.Start:e.End]) != e.Text {
			t.Errorf("%+v: runes [%d,%d) are %q", e, e.Start, e.End, string(r[e.Start:e.End]))
		}
	}
}
