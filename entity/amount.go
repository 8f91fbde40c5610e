package entity

import (
	"math/big"
	"strings"
)

// moneyCues are words right before which a bare number is a sum of money
// (收费1980, 罚款200, 销售收入6800万).
var moneyCues = []string{
	"收费", "收取", "开价", "罚款", "缴费", "交费", "缴纳", "费用", "票价", "价格", "售价", "单价",
	"工资", "补贴", "补助", "赔偿", "收入", "营业额", "投入", "投资", "扶持", "贪污", "损失",
	"限额", "花了", "交了", "付了", "欠款", "押金", "退还", "退款", "罚了", "毛坯", "精装",
	"学费", "房租", "租金", "月薪", "年薪", "奖励", "报销", "资助", "拨款",
}

// moneyFillers may stand between a money cue and its number.
var moneyFillers = []string{"高达", "将近", "共计", "大约", "每人", "每月", "每年", "为", "了", "达", "近", "约", "共", "是", "要", "仅"}

// notMoneyUnits follow numbers that are not sums of money.
const notMoneyUnits = "个人次天年月日号米平方吨度分秒%条项名位户家所辆台件座栋层楼岁周期届级倍斤亩公里克升"

// amounts finds sums of money.
func (d *doc) amounts(out []candidate) []candidate {
	r := d.r
	for i := 0; i < len(r); i++ {
		if d.taken[i] {
			continue
		}
		c := r[i]
		yen := c == '￥' || c == '¥'
		s := i
		if yen {
			i++
			for d.at(i) == ' ' {
				i++
			}
		}
		if !startsNumber(d.at(i)) || !yen && startsNumber(d.at(i-1)) || isASCIILetter(d.at(i-1)) {
			i = s
			continue
		}
		n, ok := d.readNumber(i)
		if !ok {
			i = s
			continue
		}
		lo, hi, end := n, number{}, n.end
		ranged := false
		if sep := d.at(end); sep == '-' || sep == '至' || sep == '到' {
			j := end + 1
			for d.at(j) == '-' { // 1——5元
				j++
			}
			if startsNumber(d.at(j)) {
				if n2, ok := d.readNumber(j); ok {
					hi, end, ranged = n2, n2.end, true
				}
			}
		}
		unitEnd, scale, unit := d.moneyUnit(end)
		switch {
		case unit:
		case yen:
			unitEnd, scale = end, 1
		case d.moneyCued(s) && d.bareMoney(lo, end):
			unitEnd, scale = end, 1
		case !lo.chinese && hasFeeAfter(d, end):
			unitEnd, scale = end, 1
		default:
			i = s
			continue
		}
		if !unit && ranged {
			// Bare ranges are too ambiguous (2015-2019, 8-10).
			i = s
			continue
		}
		if lo.chinese && !ranged && lo.val != nil && lo.val.Cmp(big.NewRat(1, 1)) == 0 && d.at(end) == '块' && d.at(end+1) != '钱' {
			i = s // 一块 (together, a piece of)
			continue
		}
		if ranged && lo.val != nil && hi.val != nil {
			// 2—3千元: the magnitude of the second number applies to both.
			one := big.NewRat(1, 1)
			if ml, mh := magnitudeOf(lo, d), magnitudeOf(hi, d); ml.Cmp(one) == 0 && mh.Cmp(one) > 0 {
				lo.val.Mul(lo.val, mh)
			}
		}
		value := ""
		if lo.val != nil {
			value = formatRat(new(big.Rat).Mul(lo.val, scale2rat(scale)))
			if ranged {
				if hi.val == nil {
					value = ""
				} else {
					value += "-" + formatRat(new(big.Rat).Mul(hi.val, scale2rat(scale)))
				}
			}
		}
		out = append(out, d.entity(Amount, s, unitEnd, value, prioAmount))
		i = unitEnd - 1
	}
	return out
}

func scale2rat(s float64) *big.Rat {
	switch s {
	case 0.1:
		return big.NewRat(1, 10)
	case 0.01:
		return big.NewRat(1, 100)
	}
	return new(big.Rat).SetFloat64(s)
}

// magnitudeOf returns the factor by which the trailing magnitude
// characters of n (千, 万…) multiply its leading digits.
func magnitudeOf(n number, d *doc) *big.Rat {
	m := big.NewRat(1, 1)
	for k := n.end - 1; k >= 0; k-- {
		switch d.r[k] {
		case '十':
			m.Mul(m, big.NewRat(10, 1))
		case '百':
			m.Mul(m, big.NewRat(100, 1))
		case '千':
			m.Mul(m, big.NewRat(1000, 1))
		case '万':
			m.Mul(m, big.NewRat(10000, 1))
		case '多', '余', '来':
		default:
			return m
		}
	}
	return m
}

// startsNumber reports whether c can start a number.
func startsNumber(c rune) bool {
	if isDigit(c) || c == '几' {
		return true
	}
	_, ok := chineseDigits[c]
	if !ok {
		_, ok = chineseUnits[c]
	}
	return ok && c != '零' && c != '〇'
}

// moneyUnit reads a currency word at i and returns where it ends and what
// one unit is worth in yuan.
func (d *doc) moneyUnit(i int) (int, float64, bool) {
	switch {
	case d.hasAt(i, "块钱"), d.hasAt(i, "元钱"):
		return i + 2, 1, true
	case d.hasAt(i, "元"), d.hasAt(i, "圆"):
		return i + 1, 1, true
	case d.hasAt(i, "块") && !isMeasureAfterKuai(d.at(i+1)):
		return i + 1, 1, true
	case d.hasAt(i, "毛钱"), d.hasAt(i, "角钱"):
		return i + 2, 0.1, true
	case d.hasAt(i, "角") && !isHan(d.at(i+1)):
		return i + 1, 0.1, true
	case d.hasAt(i, "分钱"):
		return i + 2, 0.01, true
	}
	return i, 0, false
}

// isMeasureAfterKuai reports whether the rune after 块 makes it a measure
// word (一块地, 一块干净…) rather than money.
func isMeasureAfterKuai(c rune) bool {
	if !isHan(c) {
		return false
	}
	return !strings.ContainsRune("了的一多左每钱呢吧啊，。！？的也还就都", c)
}

// moneyCued reports whether a money cue ends right before s, allowing a
// filler word in between.
func (d *doc) moneyCued(s int) bool {
	if _, ok := d.endsWithAny(s, moneyCues); ok {
		return true
	}
	for _, f := range moneyFillers {
		if d.endsWith(s, f) {
			k := s - len([]rune(f))
			if _, ok := d.endsWithAny(k, moneyCues); ok {
				return true
			}
			for _, g := range moneyFillers {
				if d.endsWith(k, g) {
					if _, ok := d.endsWithAny(k-len([]rune(g)), moneyCues); ok {
						return true
					}
				}
			}
		}
	}
	return false
}

// bareMoney reports whether a number without a currency word, after a
// money cue, is a sum: Arabic or with a magnitude (两万), not followed by a
// unit of something else.
func (d *doc) bareMoney(n number, end int) bool {
	if n.chinese && !strings.ContainsRune("万亿千百", d.at(end-1)) {
		return false
	}
	next := d.at(end)
	return !strings.ContainsRune(notMoneyUnits, next)
}

// hasFeeAfter reports whether a fee word follows the number at end
// (3980安装费).
func hasFeeAfter(d *doc, end int) bool {
	if strings.ContainsRune(notMoneyUnits, d.at(end)) {
		return false
	}
	for k := end; k < min(len(d.r), end+4); k++ {
		if d.r[k] == '费' {
			return k > end
		}
		if !isHan(d.r[k]) {
			return false
		}
	}
	return false
}
