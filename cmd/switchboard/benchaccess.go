package main

// `switchboard bench access`: the authorization figures of issue 5 over a
// generated province. It builds a realistic unit tree (cities, districts,
// streets, communities, departments with category grants, expert groups),
// a policy of the example roles granted to many users, and a ticket data set
// in SQLite, then measures single checks (Authorizer.Allowed, no cache) and
// filtered list pages (Authorizer.Filter compiled into ListTickets) per kind
// of principal.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// The targets of issue 5.
const (
	enforceTarget = 50 * time.Microsecond // p99 of one check, no cache
	pageTarget    = 50 * time.Millisecond // p95 of a 50-row filtered page
	accessPage    = 50
	loadBatch     = 20_000 // tickets per BulkLoadTickets call
)

type benchAccessOpts struct {
	units, users, tickets int
	checks, pages         int
	seed                  uint64
	data                  string
	keep                  bool
}

func benchAccessCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench access", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchAccessOpts
	fs.IntVar(&o.units, "units", 2000, "units of the generated province (about)")
	fs.IntVar(&o.users, "users", 20_000, "users holding roles")
	fs.IntVar(&o.tickets, "tickets", 10_000_000, "tickets of the data set")
	fs.IntVar(&o.checks, "checks", 200_000, "single checks (Allowed) to time")
	fs.IntVar(&o.pages, "pages", 400, "principals whose list pages are timed, spread over the role classes")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated province, policy and data set")
	fs.StringVar(&o.data, "data", "", "`dir`ectory of the SQLite file (default: a temporary one, removed afterwards)")
	fs.BoolVar(&o.keep, "keep", false, "keep the database, and reuse it when it holds the requested data set")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case o.units < 100 || o.units > 200_000:
		return usageError{"--units: between 100 and 200000"}
	case o.users < 10 || o.users > 2_000_000:
		return usageError{"--users: between 10 and 2000000"}
	case o.tickets < 1000 || o.tickets > 100_000_000:
		return usageError{"--tickets: between 1000 and 100000000"}
	case o.checks < 1 || o.checks > 50_000_000:
		return usageError{"--checks: between 1 and 50000000"}
	case o.pages < 1 || o.pages > 1_000_000:
		return usageError{"--pages: between 1 and 1000000"}
	}
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	return benchAccess(ctx, stdout, stderr, o)
}

func benchAccess(ctx context.Context, w, progress io.Writer, o benchAccessOpts) error {
	dir := o.data
	if dir == "" {
		d, err := os.MkdirTemp("", "switchboard-benchaccess-")
		if err != nil {
			return err
		}
		dir = d
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	dbPath := filepath.Join(dir, "switchboard.db")
	paramsPath := filepath.Join(dir, "benchaccess.params")
	files := []string{dbPath, dbPath + "-wal", dbPath + "-shm", paramsPath}
	removeDB := func() {
		for _, f := range files {
			os.Remove(f)
		}
	}
	if o.data != "" && !o.keep {
		defer removeDB()
	}
	params := fmt.Sprintf("units=%d seed=%d tickets=%d\n", o.units, o.seed, o.tickets)
	reuse := false
	if o.keep {
		b, err := os.ReadFile(paramsPath)
		reuse = err == nil && string(b) == params
	}
	if !reuse {
		removeDB()
	}
	st, err := sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	if reuse {
		n, err := countTickets(ctx, st)
		if err != nil {
			return err
		}
		if n != int64(o.tickets) {
			st.Close()
			removeDB()
			if st, err = sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{}); err != nil {
				return err
			}
			reuse = false
		}
	}

	wld := newAccessWorld(o.units, o.seed)
	if err := wld.pf.Validate(); err != nil {
		return fmt.Errorf("the generated province: %w", err)
	}
	users := wld.genUsers(o.users, o.seed)
	fmt.Fprintf(w, "access benchmark: generated province of %d units, %d users, %d tickets on SQLite (WAL, synchronous=FULL, default list probe), %d CPUs, seed %d; no cache\n",
		len(wld.pf.Units), len(users), o.tickets, runtime.NumCPU(), o.seed)
	fmt.Fprintf(w, "province: %s\n", wld.describe())

	// The policy: the example roles, the departments' category grants, the users' grants.
	rules, err := wld.policy(users)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := loadPolicy(ctx, st, rules); err != nil {
		return err
	}
	stored := time.Since(t0)
	var np, ng2, ng int
	for _, r := range rules {
		switch r.PType {
		case "p":
			np++
		case "g2":
			ng2++
		case "g":
			ng++
		}
	}
	t0 = time.Now()
	az, err := authz.New(ctx, authz.Options{Store: st, Units: func() *registry.Snapshot { return wld.snap }})
	if err != nil {
		return err
	}
	built := time.Since(t0)
	fmt.Fprintf(w, "policy: %d rules (%d p, %d g2, %d g) stored in %s; authz.New from the store: %s\n",
		len(rules), np, ng2, ng, stored.Round(time.Millisecond), built.Round(time.Millisecond))

	// The ticket data set.
	if reuse {
		fmt.Fprintf(w, "tickets: reused %s (%d tickets, %s)\n", dbPath, o.tickets, dbSize(dbPath))
	} else {
		elapsed, top, err := wld.loadTickets(ctx, st, o.tickets, o.seed, progress)
		if err != nil {
			return err
		}
		if o.keep {
			if err := os.WriteFile(paramsPath, []byte(params), 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "tickets: generated %d in %s (%.0f tickets/s, batches of %d through BulkLoadTickets); database %s; busiest handling unit has %.1f%% of them\n",
			o.tickets, elapsed.Round(time.Second), float64(o.tickets)/elapsed.Seconds(), loadBatch, dbSize(dbPath), 100*top)
	}
	if o.keep {
		fmt.Fprintf(w, "tickets: kept in %s\n", dir)
	}

	p99 := benchEnforce(w, az, wld, users, o)
	p95, err := benchLists(ctx, w, az, st, users, o)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "summary:")
	fmt.Fprintf(w, "enforce p99: %s (target ≤ 50µs) %s\n", us(p99), verdict(p99 <= enforceTarget))
	fmt.Fprintf(w, "page p95: %s (target ≤ 50ms) %s\n", ms(p95), verdict(p95 <= pageTarget))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "missed"
}

func us(d time.Duration) string { return fmt.Sprintf("%.1fµs", float64(d.Nanoseconds())/1000) }

func countTickets(ctx context.Context, st *sqlstore.Store) (int64, error) {
	counts, err := st.CountByState(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range counts {
		n += c
	}
	return n, nil
}

func dbSize(path string) string {
	var n int64
	for _, f := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

// loadPolicy replaces the stored policy with rules, in changes of at most
// 5,000 rules.
func loadPolicy(ctx context.Context, st store.Auth, rules []store.Rule) error {
	const per = 5000
	for i := 0; i == 0 || i < len(rules); i += per {
		chunk := rules[i:min(i+per, len(rules))]
		_, err := st.ChangePolicy(ctx, store.PolicyChange{Add: chunk, Replace: i == 0,
			Audit: store.AuditEntry{Actor: "bench", Action: "policy.import", Detail: fmt.Sprintf("bench access: rules %d–%d", i, i+len(chunk))}})
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- the province ----

// accessWorld is a generated province: its units by kind, the category
// prefixes granted to its departments, and what tickets are made of.
type accessWorld struct {
	pf   *registry.ProvinceFile
	snap *registry.Snapshot
	root string
	// centre is the 12345 centre, where operators work.
	centre                                  string
	cities, districts, streets, communities []string
	// depts are the provincial and city departments and enterprises, each
	// granted category prefixes; subDepts are their divisions.
	depts, subDepts, experts []string
	grants                   map[string][]string // g2: unit → category code prefixes
	place                    map[string]place    // territorial unit → where it is
	descendants              map[string][]string // memo of snap.Descendants
}

// place names where a territorial unit is, for addresses.
type place struct{ city, district, street, region string }

var (
	cityNames = []struct{ id, name string }{
		{"gz", "广州市"}, {"sz", "深圳市"}, {"fs", "佛山市"}, {"dg", "东莞市"}, {"hz", "惠州市"}, {"zh", "珠海市"},
		{"zs", "中山市"}, {"jm", "江门市"}, {"st", "汕头市"}, {"zj", "湛江市"}, {"zq", "肇庆市"}, {"mm", "茂名市"},
		{"jy", "揭阳市"}, {"qy", "清远市"}, {"mz", "梅州市"}, {"sg", "韶关市"}, {"hy", "河源市"}, {"yj", "阳江市"},
		{"cz", "潮州市"}, {"sw", "汕尾市"}, {"yf", "云浮市"},
	}
	districtStems = []string{"天河", "越秀", "海珠", "荔湾", "白云", "黄埔", "番禺", "花都", "南沙", "从化", "增城",
		"福田", "罗湖", "南山", "宝安", "龙岗", "盐田", "龙华", "坪山", "光明", "禅城", "南海", "顺德", "三水", "高明",
		"香洲", "斗门", "金湾", "惠城", "惠阳", "蓬江", "江海", "新会", "金平", "龙湖", "赤坎", "霞山", "端州", "鼎湖"}
	streetStems = []string{"体育西", "石牌", "五山", "员村", "车陂", "沙河", "林和", "冼村", "猎德", "棠下", "天园",
		"龙洞", "长兴", "凤凰", "新塘", "珠吉", "黄村", "前进", "北京", "人民", "东山", "农林", "梅花村", "华乐", "建设",
		"大塘", "登峰", "矿泉", "流花", "洪桥", "光塔", "六榕", "诗书", "南华西", "龙凤", "滨江", "素社", "海幢",
		"粤海", "沙头", "华富", "园岭", "祖庙", "石湾", "张槎", "桂城", "大良", "容桂", "拱北", "吉大", "湾仔"}
	communityStems = []string{"华景", "骏景", "东方", "幸福", "和平", "新村", "龙口", "花园", "锦绣", "金沙",
		"翠湖", "春晖", "丽江", "南苑", "北苑", "东湖", "西华", "桃源", "康乐", "长寿", "朝阳", "紫荆", "碧桂",
		"荔园", "榕树", "文昌", "明珠", "绿茵", "星河", "海景"}
	provDepts = []struct{ id, name string }{
		{"gd-samr", "省市场监督管理局"}, {"gd-hrss", "省人力资源和社会保障厅"}, {"gd-housing", "省住房和城乡建设厅"},
		{"gd-transport", "省交通运输厅"}, {"gd-env", "省生态环境厅"}, {"gd-health", "省卫生健康委员会"},
		{"gd-edu", "省教育厅"}, {"gd-police", "省公安厅"}, {"gd-land", "省自然资源厅"}, {"gd-water", "省水利厅"},
		{"gd-agri", "省农业农村厅"}, {"gd-commerce", "省商务厅"}, {"gd-culture", "省文化和旅游厅"},
		{"gd-emergency", "省应急管理厅"}, {"gd-medins", "省医疗保障局"}, {"gd-civil", "省民政厅"},
		{"gd-mpa", "省药品监督管理局"}, {"gd-urban", "省城市管理和综合执法局"}, {"gd-telecom", "省通信管理局"},
		{"gd-power", "广东电网有限责任公司"},
	}
	cityDepts = []struct {
		id, name string
		kind     registry.UnitKind
	}{
		{"samr", "市场监督管理局", registry.Department}, {"hrss", "人力资源和社会保障局", registry.Department},
		{"housing", "住房和城乡建设局", registry.Department}, {"urban", "城市管理和综合执法局", registry.Department},
		{"water", "自来水有限公司", registry.Enterprise}, {"power", "供电局", registry.Enterprise},
		{"gas", "燃气有限公司", registry.Enterprise}, {"traffic", "公安局交通警察支队", registry.Department},
	}
	divisions = []string{"综合处", "执法监督处", "投诉举报处", "政策法规处", "信息中心"}
)

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// newAccessWorld generates a province of about n units.
func newAccessWorld(n int, seed uint64) *accessWorld {
	rng := rand.New(rand.NewPCG(seed, 0x5eed0001))
	w := &accessWorld{grants: map[string][]string{}, place: map[string]place{}, descendants: map[string][]string{}}
	pf := &registry.ProvinceFile{Name: "广东省"}
	add := func(u registry.Unit) string {
		pf.Units = append(pf.Units, u)
		return u.ID
	}
	w.root = add(registry.Unit{ID: "gd", Name: "广东省人民政府", Kind: registry.Province, RegionCode: "440000"})
	w.centre = add(registry.Unit{ID: "gd-12345", Name: "广东省12345政务服务便民热线中心", Kind: registry.Centre, Parent: w.root, RegionCode: "440000"})

	nCities := clamp(n/100, 2, len(cityNames))
	nProv := clamp(n/100, 3, len(provDepts))
	nCityDepts := clamp(n/50, 2, 2*nCities)
	nSub := clamp(n/200, 1, 10)
	nExperts := clamp(n/200, 2, 10)
	rest := max(0, n-2-nCities-nProv-nCityDepts-nSub-nExperts)
	nDistricts := max(nCities, rest*6/100)
	nStreets := max(nDistricts, rest*34/100)
	nCommunities := max(0, rest-nDistricts-nStreets)

	for i := range nProv {
		d := provDepts[i]
		kind := registry.Department
		if d.id == "gd-power" {
			kind = registry.Enterprise
		}
		w.depts = append(w.depts, add(registry.Unit{ID: d.id, Name: d.name, Kind: kind, Parent: w.root, RegionCode: "440000"}))
	}
	for i := range nSub {
		parent := w.depts[i%len(w.depts)]
		name := provDepts[slices.IndexFunc(provDepts, func(d struct{ id, name string }) bool { return d.id == parent })].name
		w.subDepts = append(w.subDepts, add(registry.Unit{ID: fmt.Sprintf("%s-div%d", parent, i/len(w.depts)+1),
			Name: name + divisions[(i/len(w.depts))%len(divisions)], Kind: registry.Department, Parent: parent, RegionCode: "440000"}))
	}
	for i := range nExperts {
		parent := w.depts[i%len(w.depts)]
		w.experts = append(w.experts, add(registry.Unit{ID: fmt.Sprintf("%s-experts%d", parent, i/len(w.depts)+1),
			Name: fmt.Sprintf("12345专家坐席（%s）第%d组", strings.TrimPrefix(pf.Units[slices.IndexFunc(pf.Units, func(u registry.Unit) bool { return u.ID == parent })].Name, "省"), i/len(w.depts)+1),
			Kind: registry.ExpertGroup, Parent: parent, RegionCode: "440000"}))
	}
	for i := range nCities {
		c := cityNames[i]
		region := fmt.Sprintf("44%02d00", i+1)
		w.cities = append(w.cities, add(registry.Unit{ID: c.id, Name: c.name, Kind: registry.City, Parent: w.root, RegionCode: region}))
		w.place[c.id] = place{city: c.name, region: region}
	}
	for i := range nCityDepts {
		city := w.cities[i%len(w.cities)]
		d := cityDepts[(i/len(w.cities))%len(cityDepts)]
		cp := w.place[city]
		w.depts = append(w.depts, add(registry.Unit{ID: city + "-" + d.id, Name: cp.city + d.name, Kind: d.kind, Parent: city, RegionCode: cp.region}))
	}
	// Territorial units: each level's first units go one to each parent, the
	// rest to random parents, so every parent has at least one child.
	children := map[string]int{}
	level := func(count int, parents []string, mk func(parent string, k int) registry.Unit) []string {
		var out []string
		for i := range count {
			parent := parents[i%len(parents)]
			if i >= len(parents) {
				parent = parents[rng.IntN(len(parents))]
			}
			children[parent]++
			out = append(out, add(mk(parent, children[parent])))
		}
		return out
	}
	w.districts = level(nDistricts, w.cities, func(parent string, k int) registry.Unit {
		pp := w.place[parent]
		id := fmt.Sprintf("%s-d%02d", parent, k)
		name := districtStems[rng.IntN(len(districtStems))] + "区"
		region := fmt.Sprintf("%s%02d", pp.region[:4], k)
		w.place[id] = place{city: pp.city, district: name, region: region}
		return registry.Unit{ID: id, Name: name, Kind: registry.District, Parent: parent, RegionCode: region}
	})
	w.streets = level(nStreets, w.districts, func(parent string, k int) registry.Unit {
		pp := w.place[parent]
		id := fmt.Sprintf("%s-s%02d", parent, k)
		stem := streetStems[rng.IntN(len(streetStems))]
		region := fmt.Sprintf("%s%03d", pp.region, k)
		w.place[id] = place{city: pp.city, district: pp.district, street: stem, region: region}
		return registry.Unit{ID: id, Name: stem + "街道办事处", Kind: registry.Street, Parent: parent, RegionCode: region}
	})
	w.communities = level(nCommunities, w.streets, func(parent string, k int) registry.Unit {
		pp := w.place[parent]
		id := fmt.Sprintf("%s-c%02d", parent, k)
		region := fmt.Sprintf("%s%03d", pp.region, k)
		w.place[id] = place{city: pp.city, district: pp.district, street: pp.street, region: region}
		return registry.Unit{ID: id, Name: communityStems[rng.IntN(len(communityStems))] + "社区居委会", Kind: registry.Community, Parent: parent, RegionCode: region}
	})
	// Each department is granted one to three category prefixes across the
	// province: mostly 4-digit subgroups, some whole 2-digit groups.
	for _, d := range w.depts {
		for range 1 + rng.IntN(3) {
			p := fmt.Sprintf("%02d%02d", 1+rng.IntN(grantedGroups), 1+rng.IntN(subgroups))
			if rng.IntN(4) == 0 {
				p = p[:2]
			}
			if !slices.Contains(w.grants[d], p) {
				w.grants[d] = append(w.grants[d], p)
			}
		}
	}
	w.pf = pf
	w.snap = registry.NewSnapshot(pf, 1)
	return w
}

// Category codes are 6 digits: a group (2), a subgroup (4), a leaf. Groups
// 01–20 are those departments may be granted; 21–24 are never granted.
const (
	grantedGroups = 20
	groups        = 24
	subgroups     = 8
	leaves        = 6
)

func (w *accessWorld) describe() string {
	return fmt.Sprintf("%d units: 1 province, 1 centre, %d cities, %d districts, %d streets, %d communities, %d departments and enterprises with %d category grants, %d divisions, %d expert groups",
		len(w.pf.Units), len(w.cities), len(w.districts), len(w.streets), len(w.communities), len(w.depts), w.grantCount(), len(w.subDepts), len(w.experts))
}

func (w *accessWorld) grantCount() int {
	n := 0
	for _, g := range w.grants {
		n += len(g)
	}
	return n
}

func (w *accessWorld) subtree(u string) []string {
	if d, ok := w.descendants[u]; ok {
		return d
	}
	d := append([]string{u}, w.snap.Descendants(u)...)
	w.descendants[u] = d
	return d
}

// ---- users and the policy ----

// The role classes whose lists are timed.
const (
	classOperator   = "operator"
	classCity       = "city"
	classDistrict   = "district"
	classStreet     = "street"
	classCommunity  = "community"
	classDepartment = "department"
	classDivision   = "division"
	classExpert     = "expert"
	classLeader     = "leader"
	classAdmin      = "admin"
)

type benchUser struct {
	id     string
	class  string // of the first grant
	grants []authz.Grant
}

// genUsers grants roles to n users: about 5% operators, 62% staff of
// territorial units, 25% department staff, 5% experts, 3% leaders and a few
// administrators; about 10% hold a second grant.
func (w *accessWorld) genUsers(n int, seed uint64) []benchUser {
	rng := rand.New(rand.NewPCG(seed, 0x5eed0002))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	admins := max(1, n/2000)
	users := make([]benchUser, 0, n)
	for i := range n {
		u := benchUser{id: fmt.Sprintf("u%06d", i)}
		grant := func(role, unit string) {
			u.grants = append(u.grants, authz.Grant{Principal: u.id, Role: role, Unit: unit})
		}
		r := rng.Float64()
		switch {
		case i < admins:
			u.class = classAdmin
			grant("admin", w.root)
		case r < 0.05:
			u.class = classOperator
			grant("operator", w.centre)
		case r < 0.67:
			switch s := rng.Float64(); {
			case s < 0.05:
				u.class = classCity
				grant("unit_staff", pick(w.cities))
			case s < 0.20:
				u.class = classDistrict
				grant("unit_staff", pick(w.districts))
			case s < 0.55 || len(w.communities) == 0:
				u.class = classStreet
				grant("unit_staff", pick(w.streets))
			default:
				u.class = classCommunity
				grant("unit_staff", pick(w.communities))
			}
		case r < 0.92:
			if rng.IntN(100) < 85 {
				u.class = classDepartment
				grant("department_staff", pick(w.depts))
			} else {
				u.class = classDivision
				grant("department_staff", pick(w.subDepts))
			}
		case r < 0.97:
			u.class = classExpert
			grant("expert", pick(w.experts))
		default:
			u.class = classLeader
			switch s := rng.Float64(); {
			case s < 0.3:
				grant("leader", pick(w.cities))
			case s < 0.8:
				grant("leader", pick(w.districts))
			default:
				grant("leader", pick(w.depts))
			}
		}
		if u.class != classAdmin && u.class != classOperator && rng.IntN(10) == 0 {
			g := u.grants[0]
			switch {
			case g.Role == "department_staff" && rng.IntN(2) == 0:
				grant("expert", pick(w.experts))
			case g.Role == "expert":
				grant("department_staff", w.parentOf(g.Unit))
			default: // covering a colleague's unit of the same kind
				grant(g.Role, w.sameKind(g.Unit, pick))
			}
		}
		users = append(users, u)
	}
	return users
}

func (w *accessWorld) parentOf(u string) string {
	unit, _ := w.snap.Unit(context.Background(), u)
	return unit.Parent
}

func (w *accessWorld) sameKind(u string, pick func([]string) string) string {
	unit, _ := w.snap.Unit(context.Background(), u)
	switch unit.Kind {
	case registry.City:
		return pick(w.cities)
	case registry.District:
		return pick(w.districts)
	case registry.Street:
		return pick(w.streets)
	case registry.Community:
		return pick(w.communities)
	case registry.ExpertGroup:
		return pick(w.experts)
	}
	if slices.Contains(w.subDepts, u) {
		return pick(w.subDepts)
	}
	return pick(w.depts)
}

// policy returns the example policy's role lines, the g2 grants and the
// users' g lines.
func (w *accessWorld) policy(users []benchUser) ([]store.Rule, error) {
	ex, err := authz.ParseCSV(examples.Policy)
	if err != nil {
		return nil, fmt.Errorf("the example policy: %w", err)
	}
	var rules []store.Rule
	for _, r := range ex {
		if r.PType == "p" {
			rules = append(rules, r)
		}
	}
	for _, d := range w.depts {
		for _, p := range w.grants[d] {
			rules = append(rules, store.Rule{PType: "g2", Values: []string{d, p}})
		}
	}
	for _, u := range users {
		for _, g := range u.grants {
			rules = append(rules, store.Rule{PType: "g", Values: []string{g.Principal, g.Role, g.Unit}})
		}
	}
	return rules, nil
}

// ---- tickets ----

// ticketGen makes tickets like real ones: handling units skewed over
// streets and departments, some co-handled, categories from the granted
// code space and beyond, states by age.
type ticketGen struct {
	w       *accessWorld
	rng     *rand.Rand
	ids     *ids.Source
	now     time.Time
	streets []string // in Zipf rank order
	depts   []string
	zs, zd  *rand.Zipf
	zg      *rand.Zipf
	groupOf []int // Zipf rank → category group
	handled map[string]int
}

func newTicketGen(w *accessWorld, seed uint64, now time.Time) *ticketGen {
	rng := rand.New(rand.NewPCG(seed, 0x5eed0003))
	g := &ticketGen{w: w, rng: rng, ids: ids.NewSource(), now: now, handled: map[string]int{}}
	g.streets = slices.Clone(w.streets)
	g.depts = append(slices.Clone(w.depts), w.subDepts...)
	rng.Shuffle(len(g.streets), func(i, j int) { g.streets[i], g.streets[j] = g.streets[j], g.streets[i] })
	rng.Shuffle(len(g.depts), func(i, j int) { g.depts[i], g.depts[j] = g.depts[j], g.depts[i] })
	g.zs = rand.NewZipf(rng, 1.1, 8, uint64(len(g.streets)-1))
	g.zd = rand.NewZipf(rng, 1.1, 8, uint64(len(g.depts)-1))
	g.zg = rand.NewZipf(rng, 1.2, 4, groups-1)
	g.groupOf = rng.Perm(groups)
	return g
}

// units picks a ticket's handling unit ("" for one not routed), its
// co-handling units and its category.
func (g *ticketGen) units() (handling string, co []string, category string) {
	rng, w := g.rng, g.w
	switch r := rng.IntN(100); {
	case r < 54:
		handling = g.streets[g.zs.Uint64()]
	case r < 84:
		handling = g.depts[g.zd.Uint64()]
	case r < 92 && len(w.communities) > 0:
		handling = w.communities[rng.IntN(len(w.communities))]
	case r < 96:
		handling = w.districts[rng.IntN(len(w.districts))]
	case r < 97:
		handling = w.experts[rng.IntN(len(w.experts))]
	}
	if handling != "" && rng.IntN(10) == 0 {
		for range 1 + rng.IntN(2) {
			var c string
			switch r := rng.IntN(10); {
			case r < 4:
				c = g.streets[rng.IntN(len(g.streets))]
			case r < 8:
				c = g.depts[rng.IntN(len(g.depts))]
			case r < 9 && len(w.communities) > 0:
				c = w.communities[rng.IntN(len(w.communities))]
			default:
				c = w.experts[rng.IntN(len(w.experts))]
			}
			if c != handling && !slices.Contains(co, c) {
				co = append(co, c)
			}
		}
	}
	if gr := w.grants[handling]; len(gr) > 0 && rng.IntN(10) < 8 {
		p := gr[rng.IntN(len(gr))]
		if len(p) == 2 {
			p += fmt.Sprintf("%02d", 1+rng.IntN(subgroups))
		}
		return handling, co, p + fmt.Sprintf("%02d", 1+rng.IntN(leaves))
	}
	return handling, co, fmt.Sprintf("%02d%02d%02d", 1+g.groupOf[g.zg.Uint64()], 1+rng.IntN(subgroups), 1+rng.IntN(leaves))
}

var (
	issues = []struct{ title, what, demand string }{
		{"噪音扰民", "夜间施工噪音很大", "请相关部门尽快处理"},
		{"预付卡退款", "商家突然关门，预付卡余额无法退款", "请求帮助退款"},
		{"小区停水", "小区从早上开始停水，事先没有任何通知", "希望尽快恢复供水"},
		{"路灯不亮", "路段路灯坏了很久，晚上出行很危险", "请尽快维修"},
		{"占道经营", "路口有流动摊贩占道经营，影响通行", "希望加强管理"},
		{"拖欠工资", "公司拖欠三个月工资至今未发", "请求劳动监察介入"},
		{"垃圾清运不及时", "小区垃圾桶满了好几天没人清运，气味很大", "请尽快清运"},
		{"违章停车", "小区门口长期有车辆乱停，堵塞消防通道", "请交警处理"},
		{"燃气价格咨询", "想了解今年居民燃气阶梯价格标准", "请予以答复"},
		{"医保报销咨询", "异地就医的费用不知道如何办理医保报销", "请告知办理流程"},
		{"物业服务差", "物业收费后不履行维修义务，电梯经常故障", "请督促整改"},
		{"食品安全问题", "在超市买到过期食品，商家拒绝退换", "请依法查处"},
		{"公交线路建议", "新建小区附近没有公交站点，出行不便", "建议增设公交线路"},
		{"学位申请咨询", "孩子明年上小学，不清楚学位申请需要哪些材料", "请予以解答"},
		{"工厂排放废气", "附近工厂夜间偷排废气，气味刺鼻", "请环保部门调查"},
		{"道路破损", "路面出现大坑，已经有电动车摔倒", "请尽快修补"},
		{"表扬社区工作人员", "社区工作人员耐心帮助办理证件", "特此表扬"},
		{"电费异常", "这个月电费比平时高出一倍，怀疑电表有问题", "请核查"},
	}
	surnames   = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "梁"}
	givenNames = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "建华", "志强", "女士", "先生"}
	legacy     = []string{"12315", "12333", "12369", "12319", "12358", "96333"}
	replies    = []string{"经核查，已安排工作人员到现场处理，问题已解决。", "已联系相关单位整改，并将持续跟进。", "已向市民解释相关政策，市民表示理解。"}
)

// next makes the ticket created at at.
func (g *ticketGen) next(at time.Time) ticket.Ticket {
	rng, w := g.rng, g.w
	handling, co, category := g.units()
	g.handled[handling]++
	loc, ok := w.place[handling]
	if !ok || loc.street == "" {
		var c string
		if len(w.communities) > 0 {
			c = w.communities[rng.IntN(len(w.communities))]
		} else {
			c = w.streets[rng.IntN(len(w.streets))]
		}
		loc = w.place[c]
	}
	is := issues[rng.IntN(len(issues))]
	t := ticket.Ticket{
		ID:           g.ids.New(at),
		Channel:      "PHONE",
		Caller:       ticket.Caller{Name: surnames[rng.IntN(len(surnames))] + givenNames[rng.IntN(len(givenNames))], Phone: fmt.Sprintf("1%d%09d", 3+rng.IntN(7), rng.IntN(1_000_000_000))},
		Title:        is.title,
		Content:      fmt.Sprintf("市民反映：%s%s%s路附近%s，已持续%d天，%s。", loc.city, loc.district, loc.street, is.what, 1+rng.IntN(60), is.demand),
		Location:     ticket.Location{Address: fmt.Sprintf("%s%s%s路%d号", loc.city, loc.district, loc.street, 1+rng.IntN(300)), RegionCode: loc.region[:min(6, len(loc.region))]},
		Category:     category,
		RequestType:  []ticket.RequestType{"COMPLAINT", "COMPLAINT", "HELP", "CONSULTATION", "SUGGESTION", "REPORT", "PRAISE"}[rng.IntN(7)],
		Urgency:      ticket.Normal,
		HandlingUnit: handling,
		CreateTime:   at,
	}
	switch r := rng.IntN(100); {
	case r < 70:
		t.DialedNumber = "12345"
		if rng.IntN(100) < 15 {
			t.DialedNumber = legacy[rng.IntN(len(legacy))]
		}
	case r < 82:
		t.Channel = "WECHAT"
	case r < 90:
		t.Channel = "WEB"
	default:
		t.Channel = "APP"
	}
	if rng.IntN(100) < 8 {
		t.Urgency = ticket.Urgent
	}
	if len(co) > 0 {
		t.CoHandlingUnits = co
	}
	age := g.now.Sub(at)
	day := 24 * time.Hour
	if handling == "" {
		t.State, t.Version, t.UpdateTime = ticket.Answered, 2, at.Add(5*time.Minute)
		if age < day {
			t.State, t.Version, t.UpdateTime = ticket.Received, 1, at
		}
		return t
	}
	t.SuggestedUnit, t.SuggestedBy = handling, ticket.SuggestedByRule
	t.DispatchTime = at.Add(time.Duration(5+rng.IntN(25)) * time.Minute)
	t.SignBy, t.ReplyBy = t.DispatchTime.Add(day), at.Add(15*day)
	var steps int
	r := rng.IntN(100)
	switch {
	case age > 30*day && r < 93, age <= 30*day && r < 22:
		t.State, steps = ticket.Closed, 7
	case age > 30*day && r < 97, age <= 30*day && r < 32:
		t.State, steps = ticket.Visited, 6
	case age > 30*day, r < 47:
		t.State, steps = ticket.Replied, 5
	case r < 50:
		t.State, steps = ticket.ExtensionRequested, 5
	case r < 70:
		t.State, steps = ticket.InProgress, 4
	case r < 85:
		t.State, steps = ticket.Signed, 3
	default:
		t.State, steps = ticket.Dispatched, 2
	}
	t.Version, t.UpdateTime = int64(steps), t.DispatchTime
	if steps >= 3 {
		t.SignTime = t.DispatchTime.Add(time.Duration(10+rng.IntN(600)) * time.Minute)
		t.UpdateTime = t.SignTime
	}
	if steps >= 5 && t.State != ticket.ExtensionRequested {
		t.ReplyTime = t.SignTime.Add(time.Duration(1+rng.IntN(10*24)) * time.Hour)
		t.Reply = replies[rng.IntN(len(replies))]
		t.UpdateTime = t.ReplyTime
	}
	if steps >= 6 {
		t.Satisfaction = ticket.Satisfied
		if rng.IntN(10) == 0 {
			t.Satisfaction = ticket.BasicallySatisfied
		}
		t.UpdateTime = t.ReplyTime.Add(2 * day)
	}
	if t.State == ticket.Closed {
		t.CloseTime = t.UpdateTime
	}
	if t.UpdateTime.After(g.now) {
		t.UpdateTime = g.now
	}
	return t
}

// loadTickets generates n tickets created over the last two years, oldest
// first (their ids increase with time, like real ones), and stores them in
// batches; a producer makes the next batch while one is stored. It returns
// the time taken and the busiest handling unit's share.
func (w *accessWorld) loadTickets(ctx context.Context, st *sqlstore.Store, n int, seed uint64, progress io.Writer) (time.Duration, float64, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	span := 730 * 24 * time.Hour
	begin := now.Add(-span)
	slot := span / time.Duration(n)
	g := newTicketGen(w, seed, now)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []ticket.Ticket, 2)
	go func() {
		defer close(batches)
		for off := 0; off < n; off += loadBatch {
			b := make([]ticket.Ticket, 0, min(loadBatch, n-off))
			for i := off; i < off+cap(b); i++ {
				at := begin.Add(slot*time.Duration(i) + time.Duration(g.rng.Int64N(int64(max(slot, 1)))))
				b = append(b, g.next(at))
			}
			select {
			case batches <- b:
			case <-gctx.Done():
				return
			}
		}
	}()
	start, last := time.Now(), time.Now()
	done := 0
	var err error
	for b := range batches {
		if err == nil {
			err = st.BulkLoadTickets(ctx, b)
		}
		if err != nil {
			cancel() // and drain, so the producer ends
			continue
		}
		done += len(b)
		if time.Since(last) >= 10*time.Second || done == n {
			last = time.Now()
			el := time.Since(start)
			eta := time.Duration(float64(el) / float64(done) * float64(n-done))
			fmt.Fprintf(progress, "bench access: %d/%d tickets stored (%.0f/s, %s left)\n", done, n, float64(done)/el.Seconds(), eta.Round(time.Second))
		}
	}
	if err != nil {
		return 0, 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	top := 0
	for u, c := range g.handled {
		if u != "" {
			top = max(top, c)
		}
	}
	return time.Since(start), float64(top) / float64(n), nil
}

// ---- single checks ----

var checkActions = []string{authz.View, authz.ViewPII, authz.Sign, authz.Reply, authz.ReadStats}

// benchEnforce times o.checks calls of Allowed, one at a time, and returns
// their p99. Half the tickets are about the principal's own units (the
// checks a user's work makes), half are anywhere.
func benchEnforce(w io.Writer, az *authz.Authorizer, wld *accessWorld, users []benchUser, o benchAccessOpts) time.Duration {
	rng := rand.New(rand.NewPCG(o.seed, 0x5eed0004))
	g := newTicketGen(wld, o.seed^0xc0ffee, time.Now())
	type check struct {
		user, action string
		obj          authz.Object
	}
	checks := make([]check, o.checks)
	for i := range checks {
		u := users[rng.IntN(len(users))]
		handling, co, category := g.units()
		if rng.IntN(2) == 0 {
			gr := u.grants[rng.IntN(len(u.grants))]
			if gr.Unit != wld.root {
				sub := wld.subtree(gr.Unit)
				handling = sub[rng.IntN(len(sub))]
			}
		}
		checks[i] = check{u.id, checkActions[rng.IntN(len(checkActions))], authz.TicketObject(handling, co, category)}
	}
	for _, c := range checks[:min(len(checks), 2000)] { // warm up: the unit tree index, the matchers
		az.Allowed(c.user, c.action, c.obj)
	}
	lats := make([]time.Duration, len(checks))
	byAction := map[string][]time.Duration{}
	allowed := 0
	start := time.Now()
	for i, c := range checks {
		t0 := time.Now()
		ok := az.Allowed(c.user, c.action, c.obj)
		lats[i] = time.Since(t0)
		if ok {
			allowed++
		}
	}
	elapsed := time.Since(start)
	for i, c := range checks {
		byAction[c.action] = append(byAction[c.action], lats[i])
	}
	slices.Sort(lats)
	fmt.Fprintf(w, "enforce: %d checks of Allowed in %s, %.0f checks/s, one goroutine, %.0f%% allowed (half the tickets in the principal's own units)\n",
		len(checks), elapsed.Round(time.Millisecond), float64(len(checks))/elapsed.Seconds(), 100*float64(allowed)/float64(len(checks)))
	fmt.Fprintf(w, "enforce: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
		us(pct(lats, 0.5)), us(pct(lats, 0.9)), us(pct(lats, 0.99)), us(pct(lats, 0.999)), us(pct(lats, 1)))
	var parts []string
	for _, a := range checkActions {
		l := byAction[a]
		slices.Sort(l)
		parts = append(parts, fmt.Sprintf("%s %s", a, us(pct(l, 0.99))))
	}
	fmt.Fprintf(w, "enforce: p99 by action: %s\n", strings.Join(parts, ", "))
	return pct(lats, 0.99)
}

// ---- list pages ----

var listClasses = []struct{ class, action string }{
	{classOperator, authz.View}, {classCity, authz.View}, {classDistrict, authz.View}, {classStreet, authz.View},
	{classCommunity, authz.View}, {classDepartment, authz.View}, {classExpert, authz.View},
	{classLeader, authz.ReadStats}, // a leader may not view tickets: the tickets its aggregates cover
}

// classStats are the figures of one role class's pages.
type classStats struct {
	filter, first, deep []time.Duration
	rowsFirst, rowsDeep []int
}

// benchLists times, for o.pages principals spread over the role classes,
// Filter and two 50-row pages: the first and one 2–5 pages deep (keyset).
// Every row is checked with Allowed. It returns the p95 of all timed pages.
func benchLists(ctx context.Context, w io.Writer, az *authz.Authorizer, st *sqlstore.Store, users []benchUser, o benchAccessOpts) (time.Duration, error) {
	rng := rand.New(rand.NewPCG(o.seed, 0x5eed0005))
	byClass := map[string][]benchUser{}
	for _, u := range users {
		byClass[u.class] = append(byClass[u.class], u)
	}
	per := max(1, o.pages/len(listClasses))
	fmt.Fprintf(w, "list: %d principals per class, page size %d; deep = one page 2–5 pages down (keyset); Filter(view), leaders Filter(read_stats); every row checked with Allowed\n",
		per, accessPage)
	stats := map[string]*classStats{}
	var all []time.Duration
	maxRows, empty, denied, pages := 0, 0, 0, 0
	record := func(p store.Page, u benchUser, action string) error {
		pages++
		maxRows = max(maxRows, len(p.Tickets))
		if len(p.Tickets) > accessPage {
			return fmt.Errorf("a page of %d rows for %s (page size %d)", len(p.Tickets), u.id, accessPage)
		}
		if len(p.Tickets) == 0 {
			empty++
		}
		for _, t := range p.Tickets {
			if !az.Allowed(u.id, action, authz.TicketObject(t.HandlingUnit, t.CoHandlingUnits, t.Category)) {
				denied++
			}
		}
		return nil
	}
	for _, lc := range listClasses {
		cand := byClass[lc.class]
		if len(cand) == 0 {
			continue
		}
		cs := &classStats{}
		stats[lc.class] = cs
		for range per {
			u := cand[rng.IntN(len(cand))]
			t0 := time.Now()
			acc := az.Filter(u.id, lc.action)
			cs.filter = append(cs.filter, time.Since(t0))
			q := store.Query{PageSize: accessPage, Access: acc}
			t0 = time.Now()
			p, err := st.ListTickets(ctx, q)
			d := time.Since(t0)
			if err != nil {
				return 0, err
			}
			cs.first, cs.rowsFirst, all = append(cs.first, d), append(cs.rowsFirst, len(p.Tickets)), append(all, d)
			if err := record(p, u, lc.action); err != nil {
				return 0, err
			}
			depth := 2 + rng.IntN(4)
			for k := 2; k <= depth; k++ {
				if !p.More {
					break // a list of fewer pages
				}
				q.After = p.Tickets[len(p.Tickets)-1].ID
				t0 = time.Now()
				p, err = st.ListTickets(ctx, q)
				d := time.Since(t0)
				if err != nil {
					return 0, err
				}
				if err := record(p, u, lc.action); err != nil {
					return 0, err
				}
				if k == depth {
					cs.deep, cs.rowsDeep, all = append(cs.deep, d), append(cs.rowsDeep, len(p.Tickets)), append(all, d)
				}
			}
		}
	}
	fmt.Fprintf(w, "%-11s %4s %9s %9s | %8s %8s %8s %8s %11s | %5s %8s %8s %8s %8s %11s\n",
		"class", "n", "filter50", "filter99", "first50", "first95", "first99", "firstmax", "rows", "deep", "deep50", "deep95", "deep99", "deepmax", "rows")
	for _, lc := range listClasses {
		cs := stats[lc.class]
		if cs == nil {
			fmt.Fprintf(w, "%-11s %4d (no principal of this class)\n", lc.class, 0)
			continue
		}
		for _, l := range [][]time.Duration{cs.filter, cs.first, cs.deep} {
			slices.Sort(l)
		}
		fmt.Fprintf(w, "%-11s %4d %9s %9s | %8s %8s %8s %8s %11s | %5d %8s %8s %8s %8s %11s\n", lc.class, len(cs.first),
			us(pct(cs.filter, 0.5)), us(pct(cs.filter, 0.99)),
			ms(pct(cs.first, 0.5)), ms(pct(cs.first, 0.95)), ms(pct(cs.first, 0.99)), ms(pct(cs.first, 1)), rowRange(cs.rowsFirst),
			len(cs.deep), ms(pct(cs.deep, 0.5)), ms(pct(cs.deep, 0.95)), ms(pct(cs.deep, 0.99)), ms(pct(cs.deep, 1)), rowRange(cs.rowsDeep))
	}
	slices.Sort(all)
	fmt.Fprintf(w, "list: all %d timed pages: p50 %s  p95 %s  p99 %s  max %s\n", len(all), ms(pct(all, 0.5)), ms(pct(all, 0.95)), ms(pct(all, 0.99)), ms(pct(all, 1)))
	fmt.Fprintf(w, "list: %d pages read, rows per page at most %d (page size %d), %d empty, %d rows not allowed by Allowed\n", pages, maxRows, accessPage, empty, denied)
	if denied > 0 {
		return 0, errors.New("a list returned tickets the principal may not see")
	}
	return pct(all, 0.95), nil
}

// rowRange is "min/mean/max" of rows per page.
func rowRange(rows []int) string {
	if len(rows) == 0 {
		return "-"
	}
	sum := 0
	for _, r := range rows {
		sum += r
	}
	return fmt.Sprintf("%d/%.0f/%d", slices.Min(rows), float64(sum)/float64(len(rows)), slices.Max(rows))
}
