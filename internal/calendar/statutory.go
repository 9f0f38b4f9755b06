package calendar

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sync"
)

// CNStatutory is the name under which a calendar includes China's statutory
// holidays and adjusted working days, as published by the State Council.
// The data (2024–2027, from the MIT-licensed NateScarlet/holiday-cn data
// set, see data/LICENSE) is embedded so that a deployment needs no network
// and every instance agrees. Years without data follow the weekly hours;
// publish a newer Kefu, or import the year's file as overrides, when the
// State Council publishes a new notice.
const CNStatutory = "cn-statutory"

//go:embed data/20*.json
var statutoryFiles embed.FS

// includes maps each name a calendar may include to its dates: true is a
// day off, false an adjusted working day.
var includes = map[string]func() map[Date]bool{
	CNStatutory: cnStatutory,
}

var cnStatutory = sync.OnceValue(func() map[Date]bool {
	// Glob sorts, so for a date listed twice the later notice wins.
	files, err := fs.Glob(statutoryFiles, "data/20*.json")
	if err != nil {
		panic(err)
	}
	m := map[Date]bool{}
	for _, f := range files {
		data, err := statutoryFiles.ReadFile(f)
		if err != nil {
			panic(err)
		}
		days, err := ParseHolidayCN(data)
		if err != nil {
			// Embedded data is checked by the tests; this cannot happen in a
			// build that passed them.
			panic(fmt.Sprintf("calendar: embedded %s: %v", f, err))
		}
		for _, d := range days {
			m[d.Date] = d.Off
		}
	}
	return m
})

// Includes returns the names a calendar's "include" list accepts.
func Includes() []string { return slices.Sorted(maps.Keys(includes)) }
