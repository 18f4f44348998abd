"""webweave.pipelines."""
