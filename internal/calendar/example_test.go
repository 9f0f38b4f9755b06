package calendar_test

import (
	"fmt"
	"time"

	"github.com/kefu-desk/kefu/internal/calendar"
)

func Example() {
	cal, err := calendar.Parse([]byte(`{
		"name": "Nanbei Chao",
		"timezone": "Asia/Shanghai",
		"weekly": {
			"mon": [["08:30","12:00"],["13:30","17:30"]],
			"tue": [["08:30","12:00"],["13:30","17:30"]],
			"wed": [["08:30","12:00"],["13:30","17:30"]],
			"thu": [["08:30","12:00"],["13:30","17:30"]],
			"fri": [["08:30","12:00"],["13:30","17:30"]]
		},
		"include": ["cn-statutory"]
	}`))
	if err != nil {
		panic(err)
	}
	// Friday 17:25, 30 minutes to the first response: 5 minutes today, the
	// rest on Sunday, a make-up working day before National Day.
	arrived := time.Date(2025, 9, 26, 9, 25, 0, 0, time.UTC)
	due := cal.Add(arrived, 30*time.Minute)
	fmt.Println(due)

	// An agent answered on Sunday at 09:00: how long did it take in
	// business time?
	answered := time.Date(2025, 9, 28, 9, 0, 0, 0, cal.Location())
	fmt.Println(cal.Between(arrived, answered).Minutes(), "business minutes")
	// Output:
	// 2025-09-28 08:55:00 +0800 CST
	// 35 business minutes
}
