// Package deadline computes the time limits of a 12345 work order (工单):
// when the handling unit must sign for it (签收), reply to it (办理回复),
// how far a reply deadline may be extended (延期) and until when a wrongly
// dispatched order may be returned (退单).
//
// Two pieces work together:
//
//   - [Calendar] knows which days are working days in mainland China:
//     Monday to Friday, minus public holidays, plus make-up workdays
//     (调休上班). Holidays and make-up days are data, loaded from YAML; the
//     embedded file calendar/cn.yaml is returned by [DefaultCalendar].
//     All dates are taken in China Standard Time (UTC+8, no daylight saving).
//   - [Policy] turns a dispatch time, an urgency, a request type and a
//     category code into deadlines, using limits from a [PolicyConfig] that
//     are either wall-clock durations ("15m") or working days ("5wd"). The
//     defaults come from shared/domain/time-limits.csv: Tianjin's sign-for
//     limits (15 min / 30 min / 1 working day) and Shandong's reply,
//     extension and return limits (5, at most 10, and 2 working days).
//
// The package never reads the clock: every function takes the time it works
// from. Urgency and request type are plain strings so that the package
// imports nothing from the rest of Switchboard.
package deadline
