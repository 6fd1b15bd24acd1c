"""From upload to published: the job that transcodes an upload (reelm.videos.transcode) and has content
review screen it first (reelm.moderation.screening). It sits above both so that neither imports the other."""
