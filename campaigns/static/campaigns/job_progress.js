// Keeps a generation job's progress bar current without reloading the admin page.
(function () {
  function poll(bar) {
    const label = bar.nextElementSibling;
    fetch(`/api/v1/jobs/${bar.dataset.job}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((job) => {
        bar.value = job.progress;
        label.textContent = `${Math.round(job.progress * 100)}% · ${job.product_sets_done} done, ` +
          `${job.product_sets_failed} failed of ${job.product_sets_total}` +
          (job.candidates_failed ? ` · ${job.candidates_failed} candidate(s) failed` : "") + ` · ${job.state}`;
        if (job.state === "running" || job.state === "queued") setTimeout(() => poll(bar), 1000);
      })
      .catch(() => setTimeout(() => poll(bar), 3000));
  }
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("progress[data-job]").forEach(poll);
  });
})();
