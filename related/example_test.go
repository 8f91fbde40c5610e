package related_test

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard12345/switchboard/related"
)

func Example() {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	x := related.New(related.Options{Now: func() time.Time { return now }})

	// At startup: page through the store (here, one page).
	_, err := x.Load(context.Background(), func(_ context.Context, after string) ([]related.Doc, string, error) {
		return []related.Doc{{
			TicketID: "t1", TrackingNumber: "20261206-000031", Phone: "13800138000",
			Title: "体育西路路灯不亮", Text: "天河区体育西路与天河北路交界处的路灯连续三个晚上不亮，行人过马路很危险。",
			Address: "广州市天河区体育西路", RegionCode: "440106", Open: true, Created: now.Add(-20 * time.Hour),
		}}, "", nil
	})
	if err != nil {
		panic(err)
	}

	// At intake: another caller reports the same lamps.
	for _, m := range x.Find(related.Query{
		Phone: "13900139000", Title: "体育西路路灯不亮",
		Text:    "体育西路与天河北路交界处路灯连续三个晚上都不亮了，过马路很危险",
		Address: "天河区体育西路", RegionCode: "440106",
	}, 5) {
		fmt.Printf("%s %.2f %q %s\n", m.TrackingNumber, m.Score, m.Reasons, m.Place)
	}
	// Output:
	// 20261206-000031 1.00 ["near-duplicate text 0.56" "similar title 1.00" "same place"] address
}
