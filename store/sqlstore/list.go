package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/store"
)

// unitChunk bounds the units looked up in one compound statement (SQLite
// allows 500 terms in a compound SELECT; each unit takes two).
const unitChunk = 100

// cond is a piece of a WHERE clause with its arguments.
type cond struct {
	sql  string
	args []any
}

// filters returns the conditions of q except paging and access, on the
// columns of the tickets table named with prefix (e.g. "t.").
func filters(q store.Query, prefix string) []cond {
	var cs []cond
	col := func(name string) string { return prefix + name }
	if len(q.States) > 0 {
		args := make([]any, len(q.States))
		for i, st := range q.States {
			args[i] = string(st)
		}
		cs = append(cs, cond{col("state") + " IN (" + marks(len(args)) + ")", args})
	}
	if q.HandlingUnit != "" {
		cs = append(cs, cond{col("handling_unit") + " = ?", []any{q.HandlingUnit}})
	}
	if q.CategoryPrefix != "" {
		// A range instead of LIKE: index-friendly and free of wildcard escaping.
		cs = append(cs, cond{col("category") + " >= ? AND " + col("category") + " < ?", []any{q.CategoryPrefix, q.CategoryPrefix + "\U0010FFFF"}})
	}
	if q.DialedNumber != "" {
		cs = append(cs, cond{col("dialed_number") + " = ?", []any{q.DialedNumber}})
	}
	if !q.CreatedAfter.IsZero() {
		cs = append(cs, cond{col("created_at") + " >= ?", []any{millis(q.CreatedAfter)}})
	}
	if !q.CreatedBefore.IsZero() {
		cs = append(cs, cond{col("created_at") + " < ?", []any{millis(q.CreatedBefore)}})
	}
	if q.Overdue != nil {
		now := millis(q.Now)
		c := fmt.Sprintf(`((%[1]s IN ('DISPATCHED', 'REOPENED') AND %[2]s > 0 AND %[2]s < ?)
			OR (%[1]s IN ('SIGNED', 'IN_PROGRESS', 'EXTENSION_REQUESTED') AND %[3]s > 0 AND %[3]s < ?))`,
			col("state"), col("sign_by"), col("reply_by"))
		if !*q.Overdue {
			c = "NOT " + c
		}
		cs = append(cs, cond{c, []any{now, now}})
	}
	return cs
}

// accessCond is q.Access as one condition on the row t of tickets.
func accessCond(a *store.Access) cond {
	var ors []string
	var args []any
	if len(a.Units) > 0 {
		ors = append(ors, "t.handling_unit IN ("+marks(len(a.Units))+")")
		for _, u := range a.Units {
			args = append(args, u)
		}
		ors = append(ors, "EXISTS (SELECT 1 FROM ticket_units u WHERE u.ticket_id = t.id AND u.unit IN ("+marks(len(a.Units))+"))")
		for _, u := range a.Units {
			args = append(args, u)
		}
	}
	if len(a.HandlerUnits) > 0 {
		ors = append(ors, "t.handling_unit IN ("+marks(len(a.HandlerUnits))+")")
		for _, u := range a.HandlerUnits {
			args = append(args, u)
		}
	}
	for _, p := range a.CategoryPrefixes {
		ors = append(ors, "(t.category >= ? AND t.category < ?)")
		args = append(args, p, p+"\U0010FFFF")
	}
	return cond{"(" + strings.Join(ors, " OR ") + ")", args}
}

func join(cs []cond) (string, []any) {
	if len(cs) == 0 {
		return "", nil
	}
	parts := make([]string, len(cs))
	var args []any
	for i, c := range cs {
		parts[i] = c.sql
		args = append(args, c.args...)
	}
	return " WHERE " + strings.Join(parts, " AND "), args
}

func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// ListTickets implements store.Store. Without an access restriction (or with
// one that sees everything) it walks the id index newest first. A restricted
// list first scans the newest Options.ListProbe matching tickets (enough that a
// principal who sees a good share of the tickets, a city or a department's
// categories, fills a page from that time-ordered scan alone) and keeps those the
// principal may see; when that does not fill the page (the principal sees
// few tickets: a street, an expert group) it takes the newest page of each of
// the principal's units from the unit indexes and of each category range, and
// merges them. A principal who sees only a few units, and no category range,
// skips the probe: a page from each of its units' indexes reads fewer index
// entries than the probe would read rows (see narrow). Both ways are keyset
// pages on the ticket id.
func (s *Store) ListTickets(ctx context.Context, q store.Query) (store.Page, error) {
	size := max(q.PageSize, 1)
	if q.Access.Empty() {
		return store.Page{}, nil
	}
	base := filters(q, "t.")
	if q.After != "" {
		base = append(base, cond{"t.id < ?", []any{q.After}})
	}
	if q.Access == nil || q.Access.All {
		where, args := join(base)
		return s.page(ctx, fmt.Sprintf("SELECT t.tracking_number, t.doc FROM tickets t%s ORDER BY t.id DESC LIMIT %d", where, size+1), args, size)
	}
	if !s.narrow(q.Access, size) {
		where, args := join(base)
		acc := accessCond(q.Access)
		probe := fmt.Sprintf("SELECT t.tracking_number, t.doc FROM (SELECT t.id, t.tracking_number, t.doc, t.handling_unit, t.category FROM tickets t%s ORDER BY t.id DESC LIMIT %d) t WHERE %s ORDER BY t.id DESC LIMIT %d",
			where, s.listProbe, acc.sql, size+1)
		p, err := s.page(ctx, probe, append(slices.Clone(args), acc.args...), size)
		if err != nil || p.More {
			return p, err
		}
	}
	ids, err := s.sparseIDs(ctx, q, base, size+1)
	if err != nil {
		return store.Page{}, err
	}
	if len(ids) == 0 {
		return store.Page{}, nil
	}
	inArgs := make([]any, len(ids))
	for i, id := range ids {
		inArgs[i] = id
	}
	return s.page(ctx, fmt.Sprintf("SELECT t.tracking_number, t.doc FROM tickets t WHERE t.id IN (%s) ORDER BY t.id DESC", marks(len(ids))), inArgs, size)
}

// narrow reports whether the unit lookups of a list (a page from the handling
// and the co-handling index of each unit) read no more index entries than the
// probe reads rows, each of which costs a look-up of the row: typically the
// principal of a street, a community, an expert group or a district. A
// category range has no such bound (its index is not in id order within the
// range), so an access with one always probes first.
func (s *Store) narrow(a *store.Access, size int) bool {
	return len(a.CategoryPrefixes) == 0 && (2*len(a.Units)+len(a.HandlerUnits))*(size+1) <= s.listProbe
}

// sparseIDs returns the ids of the newest limit tickets of q's access, from
// each unit's and each category range's newest limit.
func (s *Store) sparseIDs(ctx context.Context, q store.Query, base []cond, limit int) ([]string, error) {
	where, args := join(base)
	andWhere := func(c string) string {
		if where == "" {
			return " WHERE " + c
		}
		return where + " AND " + c
	}
	var terms []string
	var targs []any
	seen := map[string]bool{}
	var ids []string
	flush := func() error {
		if len(terms) == 0 {
			return nil
		}
		rows, err := s.read.QueryContext(ctx, s.q(strings.Join(terms, " UNION ALL ")), targs...)
		if err != nil {
			return transient("listing tickets", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return transient("listing tickets", err)
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		terms, targs = terms[:0], targs[:0]
		return rows.Err()
	}
	// Without conditions on the ticket but the keyset bound (the usual list),
	// a unit's co-handled tickets come from the ticket_units index alone:
	// joining tickets would look each of them up at random only to check the
	// bound, which ticket_id can check itself.
	bare := len(filters(q, "t.")) == 0
	for i, u := range q.Access.Units {
		terms = append(terms,
			fmt.Sprintf("SELECT id FROM (SELECT t.id FROM tickets t%s ORDER BY t.id DESC LIMIT %d) x", andWhere("t.handling_unit = ?"), limit))
		targs = append(targs, args...)
		targs = append(targs, u)
		if bare {
			c := "u.unit = ?"
			targs = append(targs, u)
			if q.After != "" {
				c += " AND u.ticket_id < ?"
				targs = append(targs, q.After)
			}
			terms = append(terms, fmt.Sprintf("SELECT id FROM (SELECT u.ticket_id AS id FROM ticket_units u WHERE %s ORDER BY u.ticket_id DESC LIMIT %d) x", c, limit))
		} else {
			terms = append(terms, fmt.Sprintf("SELECT id FROM (SELECT t.id FROM ticket_units u JOIN tickets t ON t.id = u.ticket_id%s ORDER BY u.ticket_id DESC LIMIT %d) x", andWhere("u.unit = ?"), limit))
			targs = append(targs, args...)
			targs = append(targs, u)
		}
		if (i+1)%unitChunk == 0 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	for i, u := range q.Access.HandlerUnits {
		terms = append(terms,
			fmt.Sprintf("SELECT id FROM (SELECT t.id FROM tickets t%s ORDER BY t.id DESC LIMIT %d) x", andWhere("t.handling_unit = ?"), limit))
		targs = append(targs, args...)
		targs = append(targs, u)
		if (i+1)%(2*unitChunk) == 0 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range q.Access.CategoryPrefixes {
		terms = append(terms, fmt.Sprintf("SELECT id FROM (SELECT t.id FROM tickets t%s ORDER BY t.id DESC LIMIT %d) x", andWhere("t.category >= ? AND t.category < ?"), limit))
		targs = append(targs, args...)
		targs = append(targs, p, p+"\U0010FFFF")
	}
	if err := flush(); err != nil {
		return nil, err
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	return ids[:min(len(ids), limit)], nil
}

// page runs a query of (tracking_number, doc) rows and makes a page of at
// most size tickets, More set when a further row came back.
func (s *Store) page(ctx context.Context, query string, args []any, size int) (store.Page, error) {
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return store.Page{}, transient("listing tickets", err)
	}
	defer rows.Close()
	var p store.Page
	for rows.Next() {
		var tn, doc string
		if err := rows.Scan(&tn, &doc); err != nil {
			return store.Page{}, transient("listing tickets", err)
		}
		if len(p.Tickets) == size {
			p.More = true
			break
		}
		var t ticket.Ticket
		if err := decodeTicket(tn, doc, &t); err != nil {
			return store.Page{}, err
		}
		p.Tickets = append(p.Tickets, t)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, transient("listing tickets", err)
	}
	return p, nil
}

// CountTickets implements store.Store.
func (s *Store) CountTickets(ctx context.Context, q store.Query) (map[ticket.State]int64, error) {
	out := map[ticket.State]int64{}
	if q.Access.Empty() {
		return out, nil
	}
	cs := filters(q, "t.")
	if q.Access != nil && !q.Access.All {
		cs = append(cs, accessCond(q.Access))
	}
	where, args := join(cs)
	rows, err := s.read.QueryContext(ctx, s.q("SELECT t.state, count(*) FROM tickets t"+where+" GROUP BY t.state"), args...)
	if err != nil {
		return nil, transient("counting tickets", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, transient("counting tickets", err)
		}
		out[ticket.State(st)] = n
	}
	return out, rows.Err()
}
