package classify

import (
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"punctuation splits runs", "小区电梯坏了，物业不修！", []string{"小区电梯坏了", "物业不修"}},
		{"digit runs fold to one zero", "2021年3月10号拨打12345", []string{"0年0月0号拨打0"}},
		{"full-width ascii folds and lowers", "ＡＢＣ１２３路", []string{"abc0路"}},
		{"ideographic space splits", "西地省\u3000A市", []string{"西地省", "a市"}},
		{"empty", "。，！", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, r := range normalize(tt.in, nil) {
				got = append(got, string(r))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTermsCountCharacterNGrams(t *testing.T) {
	t.Parallel()
	e := extractor{cfg: FeatureConfig{CharMin: 1, CharMax: 2}}
	// 噪音噪音: unigrams 噪×2 音×2, bigrams 噪音×2 音噪×1.
	terms := e.terms("噪音噪音", nil)
	var counts []float32
	for _, tc := range terms {
		counts = append(counts, tc.count)
	}
	slices.Sort(counts)
	if want := []float32{1, 2, 2, 2}; !slices.Equal(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
	// A punctuation mark stops n-grams: 噪，音 has no bigram.
	if got := len(e.terms("噪，音", nil)); got != 2 {
		t.Errorf("噪，音 gave %d terms, want 2 unigrams", got)
	}
	// Extra tokens form their own group and never collide with text.
	ex := e.terms("噪", []string{"噪"})
	if len(ex) != 2 || ex[0].key.group() == ex[1].key.group() {
		t.Errorf("extra token not kept apart: %+v", ex)
	}
}

func TestVocabularyKeepsFrequentTermsAndNormalises(t *testing.T) {
	t.Parallel()
	cfg := FeatureConfig{CharMin: 1, CharMax: 1, MinDF: 2}
	e := extractor{cfg: cfg}
	docs := [][]termCount{e.terms("甲乙", nil), e.terms("甲丙", nil), e.terms("甲乙丁", nil)}
	v := buildVocabulary(docs, cfg)
	if len(v.idf) != 2 { // 甲 (3 docs), 乙 (2); 丙 and 丁 once each
		t.Fatalf("vocabulary has %d terms, want 2", len(v.idf))
	}
	x := v.vectorize(docs[2], cfg)
	var norm float64
	for _, val := range x.val {
		norm += float64(val * val)
	}
	if norm < 0.999 || norm > 1.001 {
		t.Errorf("squared norm %v, want 1", norm)
	}
	if !slices.IsSorted(x.idx) {
		t.Errorf("indices not ascending: %v", x.idx)
	}
	capped := cfg
	capped.MaxFeatures = 1
	if got := len(buildVocabulary(docs, capped).idf); got != 1 {
		t.Errorf("MaxFeatures 1 kept %d terms", got)
	}
}
