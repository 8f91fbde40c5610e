package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// OpenAuth returns an empty store.Auth for one subtest. If it implements
// io.Closer the suite closes it when the subtest ends.
type OpenAuth func(t *testing.T) store.Auth

// RunAuth runs the conformance suite of store.Auth against the stores open
// returns: principals, tokens, the policy with its revisions under
// concurrent changes, the audit log with filters, keyset pages and Chinese
// text, and policy notifications within the store.
func RunAuth(t *testing.T, open OpenAuth) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a store.Auth)
	}{
		{"Principals", testPrincipals},
		{"Tokens", testTokens},
		{"PolicyChanges", testPolicyChanges},
		{"PolicyRefusesTooManyValues", testPolicyInvalid},
		{"PolicyConcurrentChangesSerialise", testPolicyConcurrent},
		{"AuditAppendListFiltersPages", testAudit},
		{"PolicyNotify", testPolicyNotify},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, openAuth(t, open))
		})
	}
}

// AuthNotifyAcross checks that two stores on one database (open and
// openOther return separate instances on the same one, e.g. two processes
// sharing PostgreSQL) see each other's policy changes through PolicyNotify
// within a second. It logs the latencies.
func AuthNotifyAcross(t *testing.T, open, openOther OpenAuth) {
	a, b := openAuth(t, open), openAuth(t, openOther)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chA, err := a.PolicyNotify(ctx)
	if err != nil {
		t.Fatalf("PolicyNotify: %v", err)
	}
	chB, err := b.PolicyNotify(ctx)
	if err != nil {
		t.Fatalf("PolicyNotify: %v", err)
	}
	for i := range 6 {
		writer, other, ch := a, "b", chB
		if i%2 == 1 {
			writer, other, ch = b, "a", chA
		}
		start := time.Now()
		rev, err := writer.ChangePolicy(context.Background(), store.PolicyChange{
			Add:   []store.Rule{{PType: "p", Values: []string{fmt.Sprintf("u-%d", i), "/tickets", "read"}}},
			Audit: store.AuditEntry{At: base, Actor: "u-admin", Action: "policy.change"},
		})
		if err != nil {
			t.Fatalf("ChangePolicy: %v", err)
		}
		committed := time.Since(start)
		waitRevision(t, ch, rev, time.Second)
		t.Logf("revision %d: committed after %v, seen by store %s after %v", rev, committed, other, time.Since(start))
	}
	if got, err := b.PolicyRevision(context.Background()); err != nil || got != 6 {
		t.Fatalf("PolicyRevision = %d, %v; want 6", got, err)
	}
}

func openAuth(t *testing.T, open OpenAuth) store.Auth {
	t.Helper()
	a := open(t)
	if c, ok := a.(io.Closer); ok {
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	return a
}

// waitRevision waits up to within for ch to deliver want; other revisions
// (older ones, or ones merged away) are skipped.
func waitRevision(t *testing.T, ch <-chan int64, want int64, within time.Duration) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	var seen []int64
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				t.Fatalf("notification channel closed while waiting for revision %d", want)
			}
			if got == want {
				return
			}
			seen = append(seen, got)
		case <-deadline.C:
			t.Fatalf("revision %d not notified within %v (got %v)", want, within, seen)
		}
	}
}

// waitClosed waits up to a second for ch to close, dropping what it delivers.
func waitClosed(t *testing.T, ch <-chan int64) {
	t.Helper()
	deadline := time.NewTimer(time.Second)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline.C:
			t.Fatal("notification channel still open a second after its context ended")
		}
	}
}

func showPrincipal(p store.Principal) string {
	return fmt.Sprintf("{%s %q %s unit=%s disabled=%v created=%s}", p.ID, p.Name, p.Kind, p.Unit, p.Disabled, showTime(p.CreatedAt))
}

func showToken(t store.Token) string {
	return fmt.Sprintf("{%s of %s hash=%x %q by %s created=%s expires=%s revoked=%s}", t.ID, t.Principal, t.Hash,
		t.Description, t.CreatedBy, showTime(t.CreatedAt), showTime(t.ExpiresAt), showTime(t.RevokedAt))
}

func showAudit(e store.AuditEntry) string {
	return fmt.Sprintf("{%s %s %s ticket=%s fields=%q %q}", showTime(e.At), e.Actor, e.Action, e.Ticket, e.Fields, e.Detail)
}

func showTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func showRules(rules []store.Rule) string {
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "%s%q\n", r.PType, r.Values)
	}
	return b.String()
}

func rule(ptype string, values ...string) store.Rule { return store.Rule{PType: ptype, Values: values} }

func secret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testPrincipals(t *testing.T, a store.Auth) {
	ctx := context.Background()
	lina := store.Principal{ID: "u-lina", Name: "李娜", Kind: store.PrincipalUser, Unit: "gz-tianhe", CreatedAt: base}
	wang := store.Principal{ID: "u-wangfang", Name: "王芳", Kind: store.PrincipalUser, Unit: "gz-12345", CreatedAt: base.Add(time.Minute)}
	svc := store.Principal{ID: "svc-gd-hrss", Name: "广东省人力资源和社会保障厅", Kind: store.PrincipalService, Unit: "gd-hrss", CreatedAt: base.Add(time.Hour)}
	for _, p := range []store.Principal{wang, lina, svc} {
		if err := a.PutPrincipal(ctx, p); err != nil {
			t.Fatalf("PutPrincipal(%s): %v", p.ID, err)
		}
	}
	check := func(want ...store.Principal) {
		t.Helper()
		for _, p := range want {
			got, err := a.GetPrincipal(ctx, p.ID)
			if err != nil {
				t.Fatalf("GetPrincipal(%s): %v", p.ID, err)
			}
			if showPrincipal(got) != showPrincipal(p) {
				t.Errorf("GetPrincipal(%s) = %s, want %s", p.ID, showPrincipal(got), showPrincipal(p))
			}
		}
		list, err := a.ListPrincipals(ctx)
		if err != nil {
			t.Fatalf("ListPrincipals: %v", err)
		}
		var got, exp []string
		for _, p := range list {
			got = append(got, showPrincipal(p))
		}
		for _, p := range want { // want is in ID order
			exp = append(exp, showPrincipal(p))
		}
		if !slices.Equal(got, exp) {
			t.Errorf("ListPrincipals =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
		}
	}
	check(svc, lina, wang)

	lina.Name, lina.Unit, lina.Disabled = "李娜（已调岗）", "gz-yuexiu", true
	if err := a.PutPrincipal(ctx, lina); err != nil {
		t.Fatalf("PutPrincipal (replace): %v", err)
	}
	check(svc, lina, wang)

	_, err := a.GetPrincipal(ctx, "u-nobody")
	if !errors.Is(err, store.ErrPrincipalNotFound) || !errs.Is(err, errs.NotFound) {
		t.Errorf("GetPrincipal(unknown) = %v, want ErrPrincipalNotFound", err)
	}
	for name, p := range map[string]store.Principal{
		"no id":    {Name: "无名", Kind: store.PrincipalUser},
		"bad kind": {ID: "u-robot", Kind: "robot"},
	} {
		if err := a.PutPrincipal(ctx, p); !errs.Is(err, errs.Invalid) {
			t.Errorf("PutPrincipal(%s) = %v, want an Invalid error", name, err)
		}
	}
	check(svc, lina, wang)
}

func testTokens(t *testing.T, a store.Auth) {
	ctx := context.Background()
	for _, p := range []store.Principal{
		{ID: "u-lina", Name: "李娜", Kind: store.PrincipalUser, CreatedAt: base},
		{ID: "svc-gd-hrss", Name: "广东省人社厅", Kind: store.PrincipalService, CreatedAt: base},
	} {
		if err := a.PutPrincipal(ctx, p); err != nil {
			t.Fatalf("PutPrincipal: %v", err)
		}
	}
	t1 := store.Token{ID: "tok-1", Principal: "u-lina", Hash: secret("s1"), Description: "李娜的笔记本", CreatedBy: "u-admin", CreatedAt: base}
	t2 := store.Token{ID: "tok-2", Principal: "u-lina", Hash: secret("s2"), Description: "导出脚本", CreatedBy: "u-lina",
		CreatedAt: base.Add(time.Hour), ExpiresAt: base.Add(90 * 24 * time.Hour)}
	t3 := store.Token{ID: "tok-3", Principal: "svc-gd-hrss", Hash: secret("s3"), Description: "人社厅回调", CreatedBy: "u-admin", CreatedAt: base.Add(30 * time.Minute)}
	for _, tok := range []store.Token{t1, t2, t3} {
		if err := a.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%s): %v", tok.ID, err)
		}
	}

	t.Run("ByHash", func(t *testing.T) {
		for _, want := range []store.Token{t1, t2, t3} {
			got, err := a.TokenByHash(ctx, want.Hash)
			if err != nil {
				t.Fatalf("TokenByHash(%s): %v", want.ID, err)
			}
			if showToken(got) != showToken(want) {
				t.Errorf("TokenByHash = %s, want %s", showToken(got), showToken(want))
			}
		}
		_, err := a.TokenByHash(ctx, secret("unknown"))
		if !errors.Is(err, store.ErrTokenNotFound) || !errs.Is(err, errs.NotFound) {
			t.Errorf("TokenByHash(unknown) = %v, want ErrTokenNotFound", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		for _, tc := range []struct {
			principal string
			want      []store.Token
		}{
			{"u-lina", []store.Token{t2, t1}},
			{"", []store.Token{t2, t3, t1}},
			{"u-nobody", nil},
		} {
			got, err := a.ListTokens(ctx, tc.principal)
			if err != nil {
				t.Fatalf("ListTokens(%q): %v", tc.principal, err)
			}
			var g, w []string
			for _, tok := range got {
				if len(tok.Hash) != 0 {
					t.Errorf("ListTokens(%q) returned the hash of %s", tc.principal, tok.ID)
				}
				g = append(g, showToken(tok))
			}
			for _, tok := range tc.want {
				tok.Hash = nil
				w = append(w, showToken(tok))
			}
			if !slices.Equal(g, w) {
				t.Errorf("ListTokens(%q) =\n%s\nwant\n%s", tc.principal, strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		first, second := base.Add(2*time.Hour), base.Add(3*time.Hour)
		if err := a.RevokeToken(ctx, "tok-1", first); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
		if err := a.RevokeToken(ctx, "tok-1", second); err != nil {
			t.Fatalf("RevokeToken (again): %v", err)
		}
		got, err := a.TokenByHash(ctx, t1.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if !got.RevokedAt.Equal(first) {
			t.Errorf("RevokedAt = %s after revoking twice, want the first time %s", showTime(got.RevokedAt), showTime(first))
		}
		if got, _ := a.TokenByHash(ctx, t2.Hash); !got.RevokedAt.IsZero() {
			t.Errorf("revoking tok-1 revoked tok-2 too")
		}
		err = a.RevokeToken(ctx, "tok-unknown", first)
		if !errors.Is(err, store.ErrTokenNotFound) || !errs.Is(err, errs.NotFound) {
			t.Errorf("RevokeToken(unknown) = %v, want ErrTokenNotFound", err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		orphan := store.Token{ID: "tok-orphan", Principal: "u-nobody", Hash: secret("orphan"), CreatedAt: base}
		err := a.CreateToken(ctx, orphan)
		if k := errs.KindOf(err); k != errs.Invalid && k != errs.NotFound {
			t.Errorf("CreateToken for an unknown principal = %v (kind %v), want an Invalid or NotFound error", err, k)
		}
		if _, err := a.TokenByHash(ctx, orphan.Hash); !errors.Is(err, store.ErrTokenNotFound) {
			t.Errorf("the refused token was stored: %v", err)
		}
		dup := store.Token{ID: "tok-dup", Principal: "u-lina", Hash: t1.Hash, CreatedAt: base}
		if err := a.CreateToken(ctx, dup); !errs.Is(err, errs.Conflict) {
			t.Errorf("CreateToken with a hash in use = %v, want a Conflict", err)
		}
		if got, err := a.TokenByHash(ctx, t1.Hash); err != nil || got.ID != t1.ID {
			t.Errorf("TokenByHash after a refused duplicate = %s, %v; want tok-1", showToken(got), err)
		}
		if err := a.CreateToken(ctx, store.Token{ID: "tok-nohash", Principal: "u-lina"}); !errs.Is(err, errs.Invalid) {
			t.Errorf("CreateToken without a hash = %v, want an Invalid error", err)
		}
	})
}

// changePolicy applies c and checks that it makes revision want.
func changePolicy(t *testing.T, a store.Auth, want int64, c store.PolicyChange) {
	t.Helper()
	rev, err := a.ChangePolicy(context.Background(), c)
	if err != nil {
		t.Fatalf("ChangePolicy: %v", err)
	}
	if rev != want {
		t.Fatalf("ChangePolicy made revision %d, want %d", rev, want)
	}
}

// checkPolicy checks that LoadPolicy and PolicyRevision return want at rev.
func checkPolicy(t *testing.T, a store.Auth, wantRev int64, want ...store.Rule) {
	t.Helper()
	rules, rev, err := a.LoadPolicy(context.Background())
	if err != nil {
		t.Fatalf("LoadPolicy: %v", err)
	}
	if rev != wantRev {
		t.Errorf("LoadPolicy revision = %d, want %d", rev, wantRev)
	}
	if showRules(rules) != showRules(want) {
		t.Errorf("LoadPolicy =\n%swant\n%s", showRules(rules), showRules(want))
	}
	if r, err := a.PolicyRevision(context.Background()); err != nil || r != wantRev {
		t.Errorf("PolicyRevision = %d, %v; want %d", r, err, wantRev)
	}
}

func testPolicyChanges(t *testing.T, a store.Auth) {
	ctx := context.Background()
	checkPolicy(t, a, 0)

	opRead := rule("p", "role:operator", "/tickets", "read")
	opWrite := rule("p", "role:operator", "/tickets", "write")
	auditRead := rule("p", "role:auditor", "/audit", "read")
	lina := rule("g", "u-lina", "role:operator", "440106")
	wang := rule("g", "u-wangfang", "role:auditor")
	audit := func(detail string) store.AuditEntry {
		return store.AuditEntry{At: base, Actor: "u-admin", Action: "policy.change", Detail: detail}
	}

	changePolicy(t, a, 1, store.PolicyChange{Add: []store.Rule{opWrite, opRead, lina}, Audit: audit("初始策略")})
	checkPolicy(t, a, 1, lina, opRead, opWrite)

	// Rules already present, or twice in one change, are ignored.
	changePolicy(t, a, 2, store.PolicyChange{Add: []store.Rule{opRead, auditRead, auditRead}, Audit: audit("增加审计员")})
	checkPolicy(t, a, 2, lina, auditRead, opRead, opWrite)

	// Missing rules are ignored.
	changePolicy(t, a, 3, store.PolicyChange{Remove: []store.Rule{opWrite, rule("p", "nobody", "/x", "read")}, Audit: audit("收回写权限")})
	checkPolicy(t, a, 3, lina, auditRead, opRead)

	// Remove then add in one change.
	changePolicy(t, a, 4, store.PolicyChange{Remove: []store.Rule{opRead}, Add: []store.Rule{opWrite, wang}, Audit: audit("调整")})
	checkPolicy(t, a, 4, lina, wang, auditRead, opWrite)

	// Replace: an import.
	changePolicy(t, a, 5, store.PolicyChange{Replace: true, Add: []store.Rule{opRead, wang}, Audit: audit("导入策略文件")})
	checkPolicy(t, a, 5, wang, opRead)

	// Trailing empty values are not kept; inner ones are. Six values fit.
	changePolicy(t, a, 6, store.PolicyChange{Add: []store.Rule{
		rule("p", "role:x", "", "read", "", ""),
		rule("p2", "a", "b", "c", "d", "e", "f"),
	}, Audit: audit("")})
	checkPolicy(t, a, 6, wang, opRead, rule("p", "role:x", "", "read"), rule("p2", "a", "b", "c", "d", "e", "f"))

	// An empty change is a change too.
	changePolicy(t, a, 7, store.PolicyChange{Audit: audit("无变化")})
	checkPolicy(t, a, 7, wang, opRead, rule("p", "role:x", "", "read"), rule("p2", "a", "b", "c", "d", "e", "f"))

	// Each change wrote its audit entry, the detail as given.
	got, more, err := a.ListAudit(ctx, store.AuditQuery{Action: "policy.change", PageSize: 100})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	var details []string
	for _, e := range got {
		details = append(details, e.Detail)
		if e.Actor != "u-admin" || !e.At.Equal(base) {
			t.Errorf("audit entry %s, want actor u-admin at %s", showAudit(e), showTime(base))
		}
	}
	if want := []string{"无变化", "", "导入策略文件", "调整", "收回写权限", "增加审计员", "初始策略"}; more || !slices.Equal(details, want) {
		t.Errorf("policy audit details = %q (more %v), want %q", details, more, want)
	}
}

func testPolicyInvalid(t *testing.T, a store.Auth) {
	ctx := context.Background()
	ok := rule("p", "role:operator", "/tickets", "read")
	changePolicy(t, a, 1, store.PolicyChange{Add: []store.Rule{ok}, Audit: store.AuditEntry{At: base, Actor: "u-admin", Action: "policy.change"}})
	for _, tc := range []struct {
		name, field string
		c           store.PolicyChange
	}{
		{"add", "add[1].values", store.PolicyChange{Add: []store.Rule{rule("p", "x", "/y", "read"), rule("p", "1", "2", "3", "4", "5", "6", "7")}}},
		{"remove", "remove[0].values", store.PolicyChange{Remove: []store.Rule{rule("p", "1", "2", "3", "4", "5", "6", "7")}}},
		{"replace", "add[0].values", store.PolicyChange{Replace: true, Add: []store.Rule{rule("g", "1", "2", "3", "4", "5", "6", "7")}}},
		{"no ptype", "add[0].ptype", store.PolicyChange{Add: []store.Rule{rule("", "x")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Audit = store.AuditEntry{At: base, Actor: "u-admin", Action: "policy.change", Detail: "不应写入"}
			_, err := a.ChangePolicy(ctx, tc.c)
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid {
				t.Fatalf("ChangePolicy = %v, want an Invalid error", err)
			}
			if !slices.ContainsFunc(e.Fields, func(f errs.FieldViolation) bool { return f.Field == tc.field }) {
				t.Errorf("ChangePolicy error %q does not name field %s", err, tc.field)
			}
			checkPolicy(t, a, 1, ok)
		})
	}
	got, _, err := a.ListAudit(ctx, store.AuditQuery{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("refused changes wrote audit entries: %d entries, want 1", len(got))
	}
}

func testPolicyConcurrent(t *testing.T, a store.Auth) {
	ctx := context.Background()
	const writers, rounds = 8, 4
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		revs []int64
		want []store.Rule
	)
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	// Every change adds one rule to an empty policy: a consistent snapshot
	// has exactly as many rules as its revision.
	go func() {
		loads := 0
		for {
			select {
			case <-stop:
				if loads == 0 {
					readerDone <- errors.New("no LoadPolicy ran during the changes")
				} else {
					readerDone <- nil
				}
				return
			default:
			}
			rules, rev, err := a.LoadPolicy(ctx)
			if err != nil {
				readerDone <- fmt.Errorf("LoadPolicy: %w", err)
				return
			}
			if int64(len(rules)) != rev {
				readerDone <- fmt.Errorf("LoadPolicy returned %d rules at revision %d: not one snapshot", len(rules), rev)
				return
			}
			loads++
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				r := rule("p", fmt.Sprintf("u-%d", w), fmt.Sprintf("/tickets/%d", i), "read")
				rev, err := a.ChangePolicy(ctx, store.PolicyChange{Add: []store.Rule{r},
					Audit: store.AuditEntry{At: base, Actor: fmt.Sprintf("u-%d", w), Action: "policy.change"}})
				if err != nil {
					t.Errorf("ChangePolicy: %v", err)
					return
				}
				mu.Lock()
				revs = append(revs, rev)
				want = append(want, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-readerDone; err != nil {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	slices.Sort(revs)
	for i, rev := range revs {
		if rev != int64(i+1) {
			t.Fatalf("revisions of %d concurrent changes = %v, want 1…%d, each once", writers*rounds, revs, writers*rounds)
		}
	}
	slices.SortFunc(want, func(x, y store.Rule) int { return slices.Compare(x.Values, y.Values) })
	checkPolicy(t, a, writers*rounds, want...)
}

func testAudit(t *testing.T, a store.Auth) {
	ctx := context.Background()
	at := base.Add(1234567 * time.Nanosecond) // kept to the millisecond
	e1 := store.AuditEntry{At: at, Actor: "u-李娜", Action: "pii.read", Ticket: "T1", Fields: []string{"caller.phone"}, Detail: "查看来电号码"}
	e2 := store.AuditEntry{At: at.Add(time.Second), Actor: "u-李娜", Action: "ticket.read", Ticket: "T1"}
	e3 := store.AuditEntry{At: at.Add(2 * time.Second), Actor: "svc-gd-hrss", Action: "pii.read", Ticket: "T2",
		Fields: []string{"caller.phone", "caller.name"}, Detail: "回访：核实姓名与电话（“张三”）🙏"}
	e4 := store.AuditEntry{At: at.Add(3 * time.Second), Actor: "u-王芳", Action: "token.create", Detail: "创建令牌 tok-1"}
	if err := a.Audit(ctx, e1, e2, e3); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if err := a.Audit(ctx, e4); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if err := a.Audit(ctx); err != nil {
		t.Fatalf("Audit of nothing: %v", err)
	}
	for _, e := range []*store.AuditEntry{&e1, &e2, &e3, &e4} {
		e.At = e.At.Truncate(time.Millisecond)
	}

	all, more, err := a.ListAudit(ctx, store.AuditQuery{PageSize: 10})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if more || len(all) != 4 {
		t.Fatalf("ListAudit = %d entries (more %v), want 4", len(all), more)
	}
	for i, want := range []store.AuditEntry{e4, e3, e2, e1} {
		if showAudit(all[i]) != showAudit(want) {
			t.Errorf("entry %d = %s, want %s", i, showAudit(all[i]), showAudit(want))
		}
		if all[i].ID <= 0 || (i > 0 && all[i].ID >= all[i-1].ID) {
			t.Errorf("entry %d has ID %d: IDs must be positive and decrease, newest first", i, all[i].ID)
		}
	}
	byID := map[int64]store.AuditEntry{}
	for _, e := range all {
		byID[e.ID] = e
	}
	ids := func(entries []store.AuditEntry) []string {
		var out []string
		for _, e := range entries {
			out = append(out, showAudit(e))
		}
		return out
	}

	t.Run("Filters", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			q    store.AuditQuery
			want []store.AuditEntry
		}{
			{"actor", store.AuditQuery{Actor: "u-李娜"}, []store.AuditEntry{e2, e1}},
			{"action", store.AuditQuery{Action: "pii.read"}, []store.AuditEntry{e3, e1}},
			{"ticket", store.AuditQuery{Ticket: "T1"}, []store.AuditEntry{e2, e1}},
			{"actor and action", store.AuditQuery{Actor: "u-李娜", Action: "pii.read"}, []store.AuditEntry{e1}},
			{"nothing matches", store.AuditQuery{Actor: "u-nobody"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.q.PageSize = 10
				got, more, err := a.ListAudit(ctx, tc.q)
				if err != nil {
					t.Fatalf("ListAudit: %v", err)
				}
				if more || !slices.Equal(ids(got), ids(tc.want)) {
					t.Errorf("ListAudit(%+v) = %q (more %v), want %q", tc.q, ids(got), more, ids(tc.want))
				}
			})
		}
	})

	t.Run("Pages", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			q    store.AuditQuery
			want []int // page sizes
		}{
			{"3 then 1", store.AuditQuery{PageSize: 3}, []int{3, 1}},
			{"exactly two pages", store.AuditQuery{PageSize: 2}, []int{2, 2}},
			{"one page", store.AuditQuery{PageSize: 4}, []int{4}},
			{"filtered", store.AuditQuery{Actor: "u-李娜", PageSize: 1}, []int{1, 1}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var sizes []int
				var seen []store.AuditEntry
				q := tc.q
				for {
					page, more, err := a.ListAudit(ctx, q)
					if err != nil {
						t.Fatalf("ListAudit: %v", err)
					}
					sizes = append(sizes, len(page))
					seen = append(seen, page...)
					if !more {
						break
					}
					if len(sizes) > 10 {
						t.Fatal("paging does not end")
					}
					q.Before = page[len(page)-1].ID
				}
				if !slices.Equal(sizes, tc.want) {
					t.Errorf("page sizes %v, want %v", sizes, tc.want)
				}
				full, _, err := a.ListAudit(ctx, store.AuditQuery{Actor: tc.q.Actor, PageSize: 10})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(seen), ids(full)) {
					t.Errorf("pages gave %q, want %q", ids(seen), ids(full))
				}
			})
		}
	})

	if _, _, err := a.ListAudit(ctx, store.AuditQuery{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("ListAudit with page size 0 = %v, want an Invalid error", err)
	}
}

func testPolicyNotify(t *testing.T, a store.Auth) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	ch, err := a.PolicyNotify(ctx)
	if err != nil {
		t.Fatalf("PolicyNotify: %v", err)
	}
	ch2, err := a.PolicyNotify(ctx2)
	if err != nil {
		t.Fatalf("PolicyNotify: %v", err)
	}
	change := func(i int) int64 {
		t.Helper()
		rev, err := a.ChangePolicy(context.Background(), store.PolicyChange{
			Add:   []store.Rule{rule("p", fmt.Sprintf("u-%d", i), "/tickets", "read")},
			Audit: store.AuditEntry{At: base, Actor: "u-admin", Action: "policy.change"},
		})
		if err != nil {
			t.Fatalf("ChangePolicy: %v", err)
		}
		return rev
	}

	rev := change(1)
	waitRevision(t, ch, rev, time.Second)
	waitRevision(t, ch2, rev, time.Second)

	// Changes nobody reads yet never block the writer; the latest arrives.
	for i := 2; i <= 6; i++ {
		rev = change(i)
	}
	waitRevision(t, ch, rev, time.Second)
	waitRevision(t, ch2, rev, time.Second)

	// Ending one subscription closes its channel and leaves the other.
	cancel2()
	waitClosed(t, ch2)
	rev = change(7)
	waitRevision(t, ch, rev, time.Second)

	cancel()
	waitClosed(t, ch)
	change(8) // no subscriber left: must not block or panic
}
