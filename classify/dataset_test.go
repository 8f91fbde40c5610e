package classify

import (
	"strings"
	"testing"
	"time"
)

func TestReadCSV(t *testing.T) {
	t.Parallel()
	in := "\ufeffid,date,title,body,label\n1,2021-05-06,电梯坏了,物业不修,城乡建设\n2,,公交,班次少,交通运输\n3,2021-05-07,空,,\n"
	ex, err := ReadCSV(strings.NewReader(in), CSVSpec{TextColumns: []string{"title", "body"}, LabelColumn: "label", TimeColumn: "date"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 2 {
		t.Fatalf("%d examples, want 2 (the unlabelled row skipped)", len(ex))
	}
	if ex[0].Text != "电梯坏了\n物业不修" || ex[0].Label != "城乡建设" {
		t.Errorf("first example %+v", ex[0])
	}
	if !ex[0].Time.Equal(time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)) || !ex[1].Time.IsZero() {
		t.Errorf("times %v, %v", ex[0].Time, ex[1].Time)
	}
}

func TestReadCSVNamesMissingColumn(t *testing.T) {
	t.Parallel()
	in := "title,label\n电梯,城乡建设\n"
	tests := []struct {
		name string
		spec CSVSpec
		want string
	}{
		{"text", CSVSpec{TextColumns: []string{"title", "body"}, LabelColumn: "label"}, `text column "body" is not in the CSV header (columns: title, label)`},
		{"label", CSVSpec{TextColumns: []string{"title"}, LabelColumn: "category"}, `label column "category"`},
		{"time", CSVSpec{TextColumns: []string{"title"}, LabelColumn: "label", TimeColumn: "date"}, `time column "date"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadCSV(strings.NewReader(in), tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestStratifiedFolds(t *testing.T) {
	t.Parallel()
	labels := make([]string, 0, 100)
	for i := 0; i < 100; i++ {
		labels = append(labels, []string{"a", "a", "a", "b"}[i%4])
	}
	folds := StratifiedFolds(labels, 5, 7)
	per := make(map[[2]any]int)
	for i, f := range folds {
		per[[2]any{f, labels[i]}]++
	}
	for f := 0; f < 5; f++ {
		if per[[2]any{f, "a"}] != 15 || per[[2]any{f, "b"}] != 5 {
			t.Errorf("fold %d holds %d a and %d b, want 15 and 5", f, per[[2]any{f, "a"}], per[[2]any{f, "b"}])
		}
	}
	again := StratifiedFolds(labels, 5, 7)
	for i := range folds {
		if folds[i] != again[i] {
			t.Fatal("folds differ for the same seed")
		}
	}
}

func TestSplitByTime(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2021, 1, d, 0, 0, 0, 0, time.UTC) }
	ex := []Example{{Time: day(1)}, {Time: day(2)}, {}, {Time: day(3)}, {Time: day(4)}}
	at := NewestCut(ex, 0.5)
	if !at.Equal(day(3)) {
		t.Errorf("NewestCut = %v, want day 3", at)
	}
	train, test := SplitByTime(ex, at)
	if len(train) != 3 || len(test) != 2 {
		t.Errorf("split %d/%d, want 3/2 (undated goes to training)", len(train), len(test))
	}
}

func TestIsForwarding(t *testing.T) {
	for label, want := range map[string]bool{
		"市政府信息办(转办)": true,
		"12345热线转交":  true,
		"区县政府":       false,
		"住建城管":       false,
		"":           false,
	} {
		if got := IsForwarding(label); got != want {
			t.Errorf("IsForwarding(%q) = %v, want %v", label, got, want)
		}
	}
}
