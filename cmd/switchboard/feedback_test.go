package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/store"
)

// TestIntakeSuggestsAndFeedbackExports: a model trained from a CSV with one
// command is served; a request filed in Chinese comes back with the top
// three categories, its entities and knowledge answers; the operator's
// correction is exported as the next training's data.
func TestIntakeSuggestsAndFeedbackExports(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	model := filepath.Join(dir, "category.sbm")
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"classify", "train", "--data", "../../classify/testdata/tickets.csv", "--text-column", "title,body",
		"--label-column", "category", "--out", model}, &out, &errb); err != nil {
		t.Fatalf("classify train: %v\n%s", err, errb.String())
	}
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Dispatch.Deliver = false
	cfg.Intake.CategoryModel = model
	a, err := build(ctx, cfg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := a.tickets.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.NewTicket{
		Channel: pb.Channel_PHONE, Caller: &pb.Caller{Name: "陈女士", Phone: "13800138000"}, RequestType: pb.RequestType_COMPLAINT,
		Title: "小区楼下烧烤店油烟扰民", Content: "我家楼下烧烤店每天晚上油烟很大，窗户都不敢开，联系电话13912345678，请环保部门处理。"}})
	if err != nil {
		t.Fatal(err)
	}
	sug := tk.GetSuggestions().GetCategories()
	if len(sug) != 3 || sug[0].GetConfidence() < sug[1].GetConfidence() || tk.GetSuggestions().GetModel() == "" {
		t.Fatalf("suggestions %v", tk.GetSuggestions())
	}
	var phone bool
	for _, e := range tk.GetEntities() {
		phone = phone || (e.GetType() == "phone" && e.GetValue() == "13912345678")
	}
	if !phone || len(tk.GetAssist().GetAnswers()) == 0 {
		t.Fatalf("entities %v, assist %v", tk.GetEntities(), tk.GetAssist())
	}
	// The request names its place (天河区): the ticket is filed in that
	// region and the units suggested for the categories are that city's.
	loc, err := a.tickets.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.NewTicket{
		Channel: pb.Channel_PHONE, Caller: &pb.Caller{Phone: "13800138001"}, RequestType: pb.RequestType_COMPLAINT,
		Title: "化工厂偷排废气", Content: "广州市天河区石牌街道附近的化工厂晚上偷排废气，气味刺鼻，请环保部门查处。"}})
	if err != nil {
		t.Fatal(err)
	}
	if loc.GetLocation().GetRegionCode() != "440106" || loc.GetSuggestions().GetRegion().GetCode() != "440106" {
		t.Errorf("region filled from the text: %q (suggested %v), want 440106 (天河区)", loc.GetLocation().GetRegionCode(), loc.GetSuggestions().GetRegion())
	}
	if us := loc.GetSuggestions().GetUnits(); len(us) == 0 || us[0].GetCode() != "gz-eco" {
		t.Errorf("suggested units %v, want gz-eco first (环境保护 in 广州)", us)
	}
	// A category code the taxonomy does not hold is refused, naming the field.
	_, err = a.tickets.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.NewTicket{
		Channel: pb.Channel_PHONE, Caller: &pb.Caller{Phone: "13800138000"}, RequestType: pb.RequestType_HELP,
		Title: "路灯不亮", Content: "小区路灯坏了。", Category: "999999"}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "category") {
		t.Fatalf("unknown category code: %v", err)
	}
	// The operator files it under another category than the top suggestion.
	other := sug[1].GetCode()
	if _, err := a.tickets.ReclassifyTicket(ctx, &pb.ReclassifyTicketRequest{Id: tk.GetId(), Category: other, Reason: "更正分类"}); err != nil {
		t.Fatal(err)
	}
	a.store.Close()
	out.Reset()
	errb.Reset()
	if err := run(context.Background(), []string{"classify", "feedback", "--data", dir, "--out", "-"}, &out, &errb); err != nil {
		t.Fatalf("classify feedback: %v\n%s", err, errb.String())
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][2] != other || rows[1][3] != sug[0].GetCode() || rows[1][5] != "true" {
		t.Fatalf("feedback rows %q (want label %s, suggested %s, corrected)", rows, other, sug[0].GetCode())
	}
}

// TestRelatedTicketsRespectThePolicy: intake suggests related tickets only
// among those the caller may view.
func TestRelatedTicketsRespectThePolicy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Dispatch.Deliver, cfg.Dispatch.AutoDispatch = false, false
	a, err := build(ctx, cfg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Close()
	tokens := demoTokens(t, a, cfg.DataDir)
	if _, err := a.authz.Change(ctx, store.PolicyChange{Add: []store.Rule{
		{PType: "p", Values: []string{"clerk", "*", "*", "create"}},
		{PType: "p", Values: []string{"clerk", "*", "subtree", "view"}},
	}}); err != nil {
		t.Fatal(err)
	}
	clerk := grantToken(t, a, "u-clerk", "clerk", "fs-chancheng-zumiao")
	done := make(chan error, 1)
	go func() { done <- a.server.Run(ctx) }()
	defer func() { cancel(); <-done }()
	_, grpcAddr, err := a.server.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewTicketServiceClient(conn)
	as := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	file := func(tok, title string) *pb.Ticket {
		t.Helper()
		tk, err := c.CreateTicket(as(tok), &pb.CreateTicketRequest{Ticket: &pb.NewTicket{Channel: pb.Channel_PHONE,
			Caller: &pb.Caller{Name: "周先生", Phone: "13566667777"}, RequestType: pb.RequestType_COMPLAINT,
			Title: title, Content: "同一位来电人反映的问题：" + title + "，请尽快处理。"}})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	elsewhere := file(tokens["operator"], "商场预付卡无法退款")
	if _, err := c.DispatchTicket(as(tokens["operator"]), &pb.DispatchTicketRequest{Id: elsewhere.GetId(), HandlingUnit: "gz-samr"}); err != nil {
		t.Fatal(err)
	}
	ids := func(tk *pb.Ticket) []string {
		var out []string
		for _, r := range tk.GetAssist().GetRelated() {
			out = append(out, r.GetId())
		}
		return out
	}
	if got := ids(file(tokens["operator"], "小区门口道路积水")); !slices.Contains(got, elsewhere.GetId()) {
		t.Fatalf("the operator is not shown the caller's other open ticket: %v", got)
	}
	if got := ids(file(clerk, "小区门口路灯不亮")); slices.Contains(got, elsewhere.GetId()) {
		t.Fatalf("a clerk of another unit is shown a ticket it may not view: %v", got)
	}
}
