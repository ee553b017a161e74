package examples

import (
	"time"

	"github.com/tributary-io/tributary/streams"
)

// PageView is one page view event.
type PageView struct {
	User string `json:"user"`
	Page string `json:"page"`
	// At is the view time in Unix milliseconds; it is the event time.
	At int64 `json:"at"`
}

// PageViewsStore holds the per-user window counts for interactive queries.
const PageViewsStore = "page-views-per-user"

// PageViewsPerUser counts each user's page views per 5-minute tumbling
// window of view time, accepting views up to grace late, and writes each
// window's final count once it closes: key the user and window
// (WindowedSerde of String), value an int64. Views come from input as JSON
// PageView values with any key; they are repartitioned by user. Closed
// windows stay queryable in PageViewsStore for an hour.
func PageViewsPerUser(b *streams.Builder, input, output string, grace time.Duration) *streams.Table[streams.Windowed[string], int64] {
	views := streams.FromTopic(b, streams.String(), streams.JSON[PageView](), input)
	timed := streams.WithTimestamp(views, func(_ string, v PageView, _ int64) int64 { return v.At })
	byUser := streams.GroupBy(timed, "views-by-user", func(_ string, v PageView) string { return v.User },
		streams.String(), streams.JSON[PageView]())
	counts := streams.WindowedCount(byUser.WindowedBy(streams.TumblingWindows(5*time.Minute).Grace(grace).Retention(time.Hour)),
		PageViewsStore, streams.EmitFinal)
	counts.ToStream().To(output, streams.WindowedSerde(streams.String()), streams.Int64())
	return counts
}
