/* hwlib: before the page is printed, open every <details> block except the hidden code cells
   (MyST-NB's hide-input toggles, which hwlib-print.css leaves out of print); after printing, close
   again those that were closed. book/_ext/book_pdf.py calls hwlibOpenForPrint() itself. */
(() => {
  let opened = [];
  window.hwlibOpenForPrint = () => {
    document.querySelectorAll("details:not(.above-input)").forEach(d => {
      if (!d.open) { d.open = true; opened.push(d); }
    });
    return opened.length;
  };
  window.addEventListener("beforeprint", window.hwlibOpenForPrint);
  window.addEventListener("afterprint", () => { opened.forEach(d => { d.open = false; }); opened = []; });
})();
