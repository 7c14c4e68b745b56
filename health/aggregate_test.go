package health

import (
	"errors"
	"testing"
)

func TestAggregate(t *testing.T) {
	timeout := failure(KindTimeout, "as-req", errors.New("no reply"))
	for _, tc := range []struct {
		name string
		in   []Status
		want Verdict
	}{
		{"no checks", nil, Verdict{}},
		{"all up", []Status{
			{Name: "kinit", State: StateUp, Delta: 0},
			{Name: "disk", State: StateUp, Delta: 20},
		}, Verdict{Delta: 20}},
		{"one down with negative weight", []Status{
			{Name: "kinit", State: StateDown, Delta: -253, Failures: 3, LastErr: timeout},
			{Name: "disk", State: StateUp, Delta: 20},
		}, Verdict{Delta: -233, Reason: "kinit failed 3 times: timeout: as-req: no reply"}},
		{"weight 0 down is fault", []Status{
			{Name: "kinit", State: StateUp},
			{Name: "disk", State: StateDown, Fault: true, Failures: 1, LastErr: timeout},
		}, Verdict{Fault: true, Reason: "disk failed: timeout: as-req: no reply"}},
		{"pending", []Status{
			{Name: "kinit", State: StateInit, Delta: -253},
		}, Verdict{Delta: -253, Pending: true, Reason: "kinit has no result yet"}},
		{"recovering and failing, in order", []Status{
			{Name: "a", State: StateDown, Delta: -10},
			{Name: "b", State: StateDown, Delta: -5, Failures: 2, LastErr: timeout},
		}, Verdict{Delta: -15, Reason: "a is down, recovering; b failed 2 times: timeout: as-req: no reply"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Aggregate(tc.in); got != tc.want {
				t.Errorf("Aggregate = %+v\nwant        %+v", got, tc.want)
			}
		})
	}
}
