/* hwlib: search snippets when the book is opened from a file (file://).
 *
 * Sphinx's searchtools.js builds each result's snippet by fetch()ing the page; browsers refuse
 * fetch() on file:// URLs (an error in the console, and no snippet). Only on search.html, and only
 * from file://, this answers those requests from hwlib/search-pages.js: the text of every page's
 * main block (its sections kept, for anchored results), written at build time by
 * book/_ext/hwlib_sphinx.py. Served over http(s) nothing changes.
 */
(() => {
  if (location.protocol !== "file:" || typeof window.fetch !== "function") return;
  const pages = window.HWLIB_SEARCH_PAGES || {};
  const root = new URL(document.documentElement.dataset.content_root || "./", location.href).href;
  const suffix = (typeof DOCUMENTATION_OPTIONS !== "undefined" && DOCUMENTATION_OPTIONS.FILE_SUFFIX) || ".html";
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = new URL(typeof input === "string" ? input : input.url, location.href);
    url.hash = "";
    url.search = "";
    if (url.href.startsWith(root) && url.href.endsWith(suffix)) {
      const doc = decodeURIComponent(url.href.slice(root.length, url.href.length - suffix.length));
      // a page the text file lacks: an empty answer (no snippet) rather than a refused fetch
      return Promise.resolve(new Response(pages[doc] || "", {headers: {"Content-Type": "text/html; charset=utf-8"}}));
    }
    return realFetch(input, init);
  };
})();
